"""Command line: python -m pycore info|run|bench MODEL_DIR | convert MODEL.onnx OUT_DIR | list | ops

Errors pycore raises on purpose, and bad arguments, are printed as `error: <message>` with exit
status 2, never as a traceback: they describe the user's file or command, not a bug in pycore.
"""

import argparse
import os
import sys

from . import __version__
from .errors import PycoreError
from .model import BACKENDS
from .quantize import FORMATS


class Parser(argparse.ArgumentParser):
    """argparse's own errors in pycore's form: `error: <message>` first, then the usage."""

    def error(self, message):
        self.exit(2, f"error: {message}\n{self.format_usage()}")


def _shape(text):
    """`name=1,3,224,224`, or `1,3,224,224` for a model with one input."""
    name, _, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad shape {text!r}; write NAME=1,3,224,224") from None
    if any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"bad shape {text!r}; dimensions must be positive")
    return name or None, shape


def _value(text):
    """`name=0,2` or `name=0.5`: an input's value, given at conversion (a 1-d list, or one number)."""
    name, eq, numbers = text.partition("=")
    try:
        if not name or not eq:
            raise ValueError
        value = [float(v) if any(c in v for c in ".eE") else int(v) for v in numbers.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad value {text!r}; write NAME=0,2") from None
    return name, value


def _input(text):
    """`NAME=FILE`, or `FILE` for a model with one input."""
    name, eq, path = text.partition("=")
    if not eq:
        return None, text
    if not name or not path:
        raise argparse.ArgumentTypeError(f"bad input {text!r}; write NAME=FILE (or FILE, for one input)")
    return name, path


def _count(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return n


def light_models():
    """{name: path} of the classic CNNs shipped with the onnx wheel (onnx/backend/test/data/light)."""
    import onnx

    folder = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    names = sorted(f for f in os.listdir(folder) if f.startswith("light_") and f.endswith(".onnx"))
    return {f[len("light_") : -len(".onnx")]: os.path.join(folder, f) for f in names}


def cmd_convert(args):
    from .onnx import convert, save
    from .onnx.convert import check_target

    labels = None
    if args.labels:
        with open(args.labels, encoding="utf-8") as f:
            labels = [line.strip() for line in f if line.strip()]
    replacing = check_target(args.out)  # before converting: a refusal should not wait for that
    graph = convert(args.model, shapes=dict(args.shape), name=args.name, values=dict(args.value))
    if labels is not None:
        graph.check_labels(labels, args.labels)
    save(graph, args.out, labels=labels, weights=args.weights)
    size = os.path.getsize(os.path.join(args.out, "weights.safetensors"))
    done = "replaced the model in " if replacing else ""
    print(f"{done}{args.out}: {len(graph.nodes)} nodes, {len(graph.weights)} weights ({size / 1e6:.1f} MB)")


def cmd_list(args):
    for name, path in light_models().items():
        print(f"{name}\t{path}")


def cmd_ops(args):
    from .onnx import supported

    for op, lo, hi in supported():
        print(f"{op:24} versions {lo}..{hi}  https://onnx.ai/onnx/operators/onnx__{op}.html")


def parser():
    from . import commands

    p = Parser(prog="python -m pycore", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"pycore {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def model_command(name, help, run):
        c = sub.add_parser(name, help=help)
        c.add_argument("model", help="a converted model: its folder, or the model.json in it")
        c.set_defaults(run=run)
        return c

    model_command("info", "inputs, outputs, parameters, weight format and ops of a model", commands.info)
    c = model_command("run", "run a model on files; print its top 5 labels or its outputs", commands.run)
    c.add_argument(
        "--input",
        type=_input,
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a .npy array, or an image file for an image model (repeat for each input)",
    )
    c.add_argument("--backend", choices=sorted(BACKENDS), default="cpu")
    c.add_argument("--output", metavar="OUT.npz", help="save every output there, by name")
    c = model_command("bench", "time a model on random inputs: median and spread in ms", commands.bench)
    c.add_argument("--backend", choices=sorted(BACKENDS), default="cpu")
    c.add_argument("--runs", type=_count, default=20, help="timed runs after one warm-up (default 20)")

    c = sub.add_parser("convert", help="convert an ONNX model to model.json + weights.safetensors")
    c.add_argument("model", help="the .onnx file")
    c.add_argument("out", help="output folder: new, empty, or holding a pycore model to replace")
    c.add_argument(
        "--shape", type=_shape, action="append", default=[], help="static input shape, NAME=1,3,224,224"
    )
    c.add_argument(
        "--value",
        type=_value,
        action="append",
        default=[],
        metavar="NAME=0,2",
        help="an input that decides a shape (a Pad's pads, a ReduceSum's axes), fixed at this value",
    )
    c.add_argument("--name", help="model name (default: the ONNX graph's name)")
    c.add_argument("--labels", help="text file with one class label per line, one per output class")
    c.add_argument("--weights", choices=FORMATS, default="fp32", help="storage of conv/matmul weights")
    c.set_defaults(run=cmd_convert)
    sub.add_parser("list", help="ONNX models shipped with the onnx wheel: NAME<TAB>PATH").set_defaults(
        run=cmd_list
    )
    sub.add_parser("ops", help="ONNX ops the converter supports").set_defaults(run=cmd_ops)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except PycoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(
            f"error: {e.name or e} is needed for this command (pip install {e.name or 'onnx'})",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # output piped into head & co.
        return 0
    except OSError as e:
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
