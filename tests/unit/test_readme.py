"""The README's Python examples run as written (a newcomer copies them first)."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def section(title):
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_train_example_runs_and_the_loss_falls(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", section("Write and train models in Python"), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    losses = [float(line.split()[1]) for line in capsys.readouterr().out.splitlines()]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert (tmp_path / "model.safetensors").stat().st_size > 8 * 14 * 14 * 10 * 4
