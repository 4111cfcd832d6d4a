"""A skipped test is a test that did not run: the session fails if any test skips for a reason other
than the machine having no WebGPU adapter (`python3 build.py test` installs lavapipe, so on a machine
it set up nothing skips at all)."""

import pytest

ALLOWED_SKIP = "no WebGPU adapter"


def _reason(report):
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    refused = [r for r in reporter.stats.get("skipped", []) if ALLOWED_SKIP not in _reason(r)]
    if refused:
        reporter.section("skipped tests (a skip other than 'no WebGPU adapter' fails the run)", red=True)
        for r in refused:
            reporter.write_line(f"{r.nodeid}: {_reason(r)}")
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
