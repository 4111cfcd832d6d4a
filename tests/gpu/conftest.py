"""Prints, after the GPU tests, the largest GPU-vs-CPU error seen per op type."""

import sys


def pytest_terminal_summary(terminalreporter):
    harness = sys.modules.get("gpu_harness")
    if harness is None or not harness.WORST:
        return
    terminalreporter.section("WebGPU vs CPU: largest error relative to max |CPU output|, per op")
    for op, err in sorted(harness.WORST.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{op:20s} {err:.2e}")
