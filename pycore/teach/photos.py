"""Teaching an image classifier the visitor's own classes (the classify demo): each photo's
features are computed once, when it is added (pycore/worker.py `features`), and the page keeps
them; training is then a softmax head on those features (pycore.teach.classes), quick on any path.

The examples are features, (N, width) float32, not model inputs: `example_shape` tells the worker.
The head trains on the CPU path whatever the base runs on: a (N, 1280) x (1280, classes) product
per step is smaller than one of the base's convolutions, and on WebGPU the per-step overhead
would be all of its cost. What the page keeps of the personal model is the head alone
(classes.save, about 5 KB a class rather than the base's 13 MB); `personal` rebuilds the model.
"""

from ..errors import InputError
from ..model import Model, backend_class
from . import classes

DEVICE = "cpu"  # where the head trains, whatever path the base runs on (see above)


def example_shape(model):
    """One example's shape: the base's features."""
    return (classes.feature_width(model.graph),)


async def train(model, inputs, labels, data=None, device="cpu", progress=None, steps=None):
    """A head on `inputs` (N, width) features labelled with class names, in the order the
    classes were first given; returns what the page keeps ("", the head's bytes) and the last loss."""
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
    return "", classes.save(head, model), head.loss  # what the page keeps: the head, a few KB


def personal(base, model_json, data):
    """The base with the head that `train` gave (`data`; `model_json` is unused) as its classifier,
    on the CPU path (the worker then puts it on the base's); a PycoreError if the head was trained
    on another base or is damaged."""
    graph = classes.personal_graph(base.graph, classes.restore(data, base))
    return Model(graph, backend_class("cpu")(graph))
