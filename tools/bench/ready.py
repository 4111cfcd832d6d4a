"""Cold time to `ready`: each demo page opened in a fresh browser profile, several times.

    python3 tools/bench/ready.py [--runs 5] [--pages mnist,classify] [--backends cpu,webgpu]

A fresh profile has empty HTTP and Cache API storage, so every run downloads and boots everything.
Prints the median seconds from navigation to the status hook reading `ready`, per page and path,
and the response bytes of the cold visit and of a second visit in the same profile.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from tools.browser import launch_persistent, served, wait_ready  # noqa: E402


def visit_twice(playwright, address):
    """A fresh profile: seconds to ready, the path used, response bytes cold and on a second visit."""
    with tempfile.TemporaryDirectory() as profile:
        context = launch_persistent(playwright.chromium, profile)
        page = context.new_page()
        got = []
        page.on("requestfinished", lambda r: got.append(r.sizes()["responseBodySize"]))
        start = time.perf_counter()
        page.goto(address)
        if (status := wait_ready(page)) != "ready":
            raise SystemExit(f"{address}: {status}")
        seconds, used, cold = (
            time.perf_counter() - start,
            page.get_by_test_id("backend").text_content(),
            sum(got),
        )
        got.clear()
        page.goto(address)
        wait_ready(page)
        context.close()
    return seconds, used, cold, sum(got)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", default="mnist,classify")
    parser.add_argument("--backends", default="cpu,webgpu")
    args = parser.parse_args()
    build.build()
    from playwright.sync_api import sync_playwright

    with served(build.DIST) as url, sync_playwright() as p:
        for name in args.pages.split(","):
            for backend in args.backends.split(","):
                address = f"{url}/demos/{name}/index.html?backend={backend}"
                runs = [visit_twice(p, address) for _ in range(args.runs)]
                times = [r[0] for r in runs]
                cold, warm = max(r[2] for r in runs) / 1e6, max(r[3] for r in runs) / 1e6
                median, spread = statistics.median(times), f"min {min(times):.2f}, max {max(times):.2f}"
                print(
                    f"{name:9} {backend:7} (ran on {runs[0][1]}) to ready: {median:.2f} s ({spread}, "
                    f"n={len(times)}); downloaded {cold:.2f} MB cold, {warm:.3f} MB on a second visit"
                )


if __name__ == "__main__":
    main()
