"""Cold time to `ready`: each demo page opened in a fresh browser profile, several times.

    python3 tools/bench/ready.py [--runs 5] [--pages mnist,classify] [--backends cpu,webgpu]

A fresh profile has empty HTTP and Cache API storage, so every run downloads and boots everything.
Prints the median seconds from navigation to the status hook reading `ready`, per page and path.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from conftest import CHROMIUM, FLAGS, serve  # noqa: E402
from pages import wait_ready  # noqa: E402

import build  # noqa: E402


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

    server, url = serve(build.DIST)
    try:
        with sync_playwright() as p:
            for page_name in args.pages.split(","):
                for backend in args.backends.split(","):
                    times = []
                    for _ in range(args.runs):
                        with tempfile.TemporaryDirectory() as profile:
                            context = p.chromium.launch_persistent_context(
                                profile, executable_path=CHROMIUM, args=FLAGS
                            )
                            page = context.new_page()
                            start = time.perf_counter()
                            page.goto(f"{url}/demos/{page_name}/index.html?backend={backend}")
                            status = wait_ready(page)
                            times.append(time.perf_counter() - start)
                            used = page.get_by_test_id("backend").text_content()
                            context.close()
                        if status != "ready":
                            raise SystemExit(f"{page_name} ({backend}): {status}")
                    spread = f"min {min(times):.2f}, max {max(times):.2f}, n={len(times)}"
                    median = statistics.median(times)
                    print(
                        f"{page_name:10} {backend:7} (ran on {used}) cold to ready: {median:.2f} s ({spread})"
                    )
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
