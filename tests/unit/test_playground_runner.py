"""pycore.playground, which the playground page's worker runs code with, in CPython: output goes
out line by line as it is printed, an error comes back as its last frames from the code typed down,
plot() sends its series, and each run starts from a fresh namespace."""

import asyncio
import json

import numpy as np
import pytest

import pycore
from pycore import playground


def run(code):
    sent = []
    error = asyncio.run(playground.run(code, lambda kind, text: sent.append((kind, text)), "http://site/"))
    return error, sent


def test_output_goes_out_a_line_at_a_time_in_order():
    code = """import sys
print("a", 1)
print("b", end="")
print("c", file=sys.stderr)
print("d")
print("e", end="")"""
    error, sent = run(code)
    assert error is None
    assert sent == [("stdout", "a 1\n"), ("stderr", "c\n"), ("stdout", "bd\n"), ("stdout", "e")]


def test_a_print_loop_is_sent_in_batches_that_lose_nothing():
    """A page takes a few thousand messages a second: a flood is gathered, a plot keeping its latest."""
    code = """from pycore.playground import plot
for i in range(20000):
    print(i)
    plot([i, i + 1], label="last")"""
    error, sent = run(code)
    assert error is None and len(sent) < 2000, len(sent)  # 40000 one by one
    assert "".join(text for kind, text in sent if kind == "stdout") == "".join(f"{i}\n" for i in range(20000))
    plots = [json.loads(text) for kind, text in sent if kind == "plot"]
    assert len(plots) < 1000 and plots[-1] == {"label": "last", "values": [19999.0, 20000.0]}


def test_top_level_await_runs():
    error, sent = run("import asyncio\nawait asyncio.sleep(0)\nprint('after')")
    assert (error, sent) == (None, [("stdout", "after\n")])


def test_an_error_shows_the_last_frames_from_the_code_typed_down():
    code = "def f(n):\n    return 1 / 0 if n == 0 else f(n - 1)\n\nprint('before')\nf(2)\n"
    error, sent = run(code)
    assert sent == [("stdout", "before\n")]  # what was printed before the error is not lost
    lines = error.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert 'File "<playground>", line 5, in <module>' in error and "return 1 / 0 if n == 0" in error
    assert "playground.py" not in error  # run() and what called it are not the code's frames


def test_a_deep_error_keeps_the_innermost_frames_and_says_how_many_are_left_out():
    error, _ = run("""import pycore

def f(n):
    if n == 0:
        pycore.zeros(2, 3) @ pycore.zeros(2, 3)
    f(n - 1)

f(10)""")
    frames = [line for line in error.splitlines() if line.startswith("  File ")]
    assert len(frames) == playground.FRAMES
    assert frames[-1].endswith("in apply")  # where pycore raised
    assert "frames above" in error.splitlines()[1]
    assert error.splitlines()[-1].startswith("pycore.tensors.TensorError: MatMul: shapes [2, 3] and [2, 3]")


def test_a_syntax_error_points_at_the_line():
    error, sent = run("x = 1\ny = (\n")
    assert sent == []
    assert 'File "<playground>", line 2' in error and "SyntaxError: '(' was never closed" in error


def test_a_chained_error_shows_only_the_last_one():
    error, _ = run("try:\n    {}['key']\nexcept KeyError:\n    raise ValueError('no key')")
    assert "KeyError" not in error and error.splitlines()[-1] == "ValueError: no key"


def test_plot_sends_its_series_and_gaps_for_values_that_are_not_finite():
    code = """import numpy as np, pycore
from pycore.playground import plot
plot([1, 2, float("nan")], label="list")
plot(pycore.arange(4) * 2, label="tensor")
plot(np.ones((2, 2)))"""
    error, sent = run(code)
    assert error is None and [kind for kind, _ in sent] == ["plot"] * 3
    assert [json.loads(text) for _, text in sent] == [
        {"label": "list", "values": [1.0, 2.0, None]},
        {"label": "tensor", "values": [0.0, 2.0, 4.0, 6.0]},
        {"label": "values", "values": [1.0, 1.0, 1.0, 1.0]},
    ]


def test_plot_outside_the_page_says_where_it_works():
    with pytest.raises(pycore.PycoreError, match="playground page"):
        playground.plot(np.arange(3))


def test_each_run_starts_from_a_fresh_namespace():
    assert run("x = 1")[0] is None
    error, _ = run("print(x)")
    assert error.splitlines()[-1] == "NameError: name 'x' is not defined"
