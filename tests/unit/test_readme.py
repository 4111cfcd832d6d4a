"""The README's Python examples run as written and its command-line section names every command
(a newcomer copies them first)."""

import ast
import re
from pathlib import Path

README_PATH = Path(__file__).resolve().parents[2] / "README.md"
README = README_PATH.read_text()


def section(title):
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_train_example_runs_and_the_loss_falls(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", section("Write and train models in Python"), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    losses = [float(line.split()[1]) for line in capsys.readouterr().out.splitlines()]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert (tmp_path / "model.safetensors").stat().st_size > 8 * 14 * 14 * 10 * 4


def test_use_example_runs_as_written(capsys, monkeypatch):
    code = re.search(r"```python\n(.*?)```", section("Use it from Python"), re.S).group(1)
    # the WebGPU line needs an adapter; tests/gpu/test_cli_webgpu.py loads the model that way
    cpu = "\n".join(line for line in code.splitlines() if 'backend="webgpu"' not in line)
    assert cpu != code.rstrip("\n")
    monkeypatch.chdir(README_PATH.parent)
    exec(compile(cpu, "README.md", "exec"), {})
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("<Model 'mnist-cnn' on cpu: image [1, 1, 28, 28] -> probabilities [1, 10]")
    assert len(ast.literal_eval(shown[1])) == 3  # top_k: three (label, probability) pairs


def test_command_line_section_covers_every_command():
    from pycore.__main__ import parser

    commands = re.search(r"\{([a-z,]+)\}", parser().format_usage()).group(1).split(",")
    text = section("Command line")
    documented = re.findall(r"^python3 -m pycore (\S+)", text, re.M)
    assert sorted(set(documented)) == sorted([*commands, "--version"])
