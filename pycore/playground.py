"""What code typed in the playground page (demos/playground/) can reach, and how the page's worker
runs it.

    from pycore.playground import fetch, plot
    plot(losses, label="cpu")                        # a line in the page's chart
    weights = await fetch("models/mnist/weights.safetensors")  # a file of the site, as bytes

`run` executes the code as a fresh `__main__` (top-level `await` allowed, as in Pyodide's
runPythonAsync) and sends what it prints to the page as it is written, so a long loop shows its
progress; an error comes back as the traceback's last frames, from the code typed down.
"""

import ast
import contextlib
import inspect
import io
import json
import linecache
import math
import time
import traceback
import urllib.parse

import numpy as np

from .errors import PycoreError

FILENAME = "<playground>"
TOP_LEVEL_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
FRAMES = 5  # an error shows at most this many frames, the innermost
_page = None  # the _Page of the run in flight


class _Page:
    """What goes to the page: send(kind, text) posts a message at once, unless messages come faster
    than a page can take them (a print loop would queue millions and freeze it, Stop included).
    Past BURST messages in INTERVAL seconds they are gathered, each stream's text joined and only
    each plot's latest values kept, and sent with the next message after the interval, or at the
    end of the run: in a flood, the last lines may wait for the next print."""

    BURST, INTERVAL = 20, 0.05

    def __init__(self, send, site):
        self.send, self.site = send, site
        self.window, self.sent, self.held = 0.0, 0, {}  # (kind, plot label) -> text

    def post(self, kind, text, label=None):
        now = time.monotonic()
        if now - self.window >= self.INTERVAL:
            self.flush()
            self.window, self.sent = now, 0
        if self.sent < self.BURST and not self.held:
            self.send(kind, text)
            self.sent += 1
        elif kind == "plot":
            self.held[kind, label] = text
        else:
            self.held[kind, None] = self.held.get((kind, None), "") + text

    def flush(self):
        held, self.held = self.held, {}
        for (kind, _), text in held.items():
            self.send(kind, text)


class _Stream(io.TextIOBase):
    """A line-buffered text file whose lines go to the page as they end (one message a line, not
    one a write: print writes its arguments and separators one by one)."""

    def __init__(self, page, name):
        self.page, self.name, self.pending = page, name, ""

    def writable(self):
        return True

    def write(self, text):
        self.pending += text
        if "\n" in text:
            done, self.pending = self.pending.rsplit("\n", 1)
            self.page.post(self.name, done + "\n")
        return len(text)

    def flush(self):
        if self.pending:
            self.page.post(self.name, self.pending)
            self.pending = ""


def _connected(what):
    if _page is None:
        raise PycoreError(f"{what} works in the pycore playground page (demos/playground/) only")
    return _page


def plot(values, label="values"):
    """Draws `values` (numbers: a list, a numpy array, a CPU tensor) as a line in the page's chart,
    at x = 0, 1, 2, ... Called again with the same label it redraws that line (a loss curve as it
    falls); another label adds a line. Values that are not finite leave a gap."""
    page = _connected("plot()")
    if hasattr(values, "numpy"):
        values = values.numpy()
    ys = np.asarray(values, dtype=np.float64).reshape(-1)
    points = [float(y) if math.isfinite(y) else None for y in ys]
    page.post("plot", json.dumps({"label": str(label), "values": points}), label=str(label))


async def fetch(path):
    """The bytes of a file of this site, by its path from the site's root, e.g.
    "models/mnist/weights.safetensors"."""
    from pyodide.http import pyfetch

    response = await pyfetch(urllib.parse.urljoin(_connected("fetch()").site, path))
    if not response.ok:
        raise PycoreError(f"could not fetch {path}: HTTP {response.status}")
    return await response.bytes()


def last_frames(error):
    """The traceback of `error` from the code typed down (the frames of run() and above dropped),
    at most FRAMES of them, and no chained exceptions: what a person reads to fix the code."""
    summary = traceback.TracebackException.from_exception(error)
    stack = list(summary.stack)
    first = next((i for i, f in enumerate(stack) if f.filename == FILENAME), len(stack))
    shown = stack[first:]
    summary.stack = traceback.StackSummary.from_list(shown[-FRAMES:])
    summary.__cause__ = summary.__context__ = None
    text = "".join(summary.format())
    if len(shown) > FRAMES:
        skipped = f"  ... {len(shown) - FRAMES} frames above\n"
        text = text.replace("\n", f"\n{skipped}", 1)
    return text


async def run(code, send, site):
    """Runs `code`; what it prints goes to send("stdout" or "stderr", text) as it is written and its
    plots to send("plot", json). `site` is the site's root URL, for fetch(). Returns None, or the
    traceback's last frames when the code raised (KeyboardInterrupt included: the page's Stop)."""
    global _page
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    _page = page = _Page(send, site)
    out, err = _Stream(page, "stdout"), _Stream(page, "stderr")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            compiled = compile(code, FILENAME, "exec", flags=TOP_LEVEL_AWAIT, dont_inherit=True)
            result = eval(compiled, {"__name__": "__main__"})
            if inspect.iscoroutine(result):
                await result
    except BaseException as e:  # the code's own error, whatever it is, is the answer
        return last_frames(e)
    finally:
        out.flush()
        err.flush()
        page.flush()
        _page = None
    return None
