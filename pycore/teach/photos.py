"""Teaching an image classifier the visitor's own classes (the classify demo): each photo's
features are computed once, when it is added (pycore/worker.py `features`), and the page keeps
them; training is then a softmax head on those features (pycore.teach.classes), quick on any path.

The examples are features, (N, width) float32, not model inputs: `example_shape` tells the worker.
The head trains on the CPU path whatever the base runs on: a (N, 1280) x (1280, classes) product
per step is smaller than one of the base's convolutions, and on WebGPU the per-step overhead
would be all of its cost.
"""

from ..errors import InputError
from . import classes

DEVICE = "cpu"  # where the head trains, whatever path the base runs on (see above)


def example_shape(model):
    """One example's shape: the base's features."""
    return (classes.feature_width(model.graph),)


async def train(model, inputs, labels, data=None, device="cpu", progress=None, steps=None):
    """A head on `inputs` (N, width) features labelled with class names, in the order the
    classes were first given; returns the personal model's files and the last loss."""
    names = list(dict.fromkeys(str(k) for k in labels))
    if len(names) < 2:
        have = f"only {names[0]!r}" if names else "none"
        raise InputError(
            f"Give at least two classes, each with a few photos, to tell apart (there is {have} yet)"
        )
    y = [names.index(str(k)) for k in labels]
    width = classes.feature_width(model.graph)
    head = await classes.train_head_async(
        inputs, y, names, width, steps=steps or classes.STEPS, on_step=progress
    )
    files = classes.model_files(model, head)
    return files["model.json"].decode(), files["weights.safetensors"], head.loss
