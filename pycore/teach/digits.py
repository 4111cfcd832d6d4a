"""Teaching the MNIST demo's CNN a visitor's handwriting: a copy of the shipped model fine-tuned
on their examples (28x28 inputs as the pad prepares them, with their digits) mixed with a replay
sample of real MNIST digits, so that ordinary digits are not forgotten.

What keeps it quick and keeps ordinary digits read (measured in tests/unit/test_teach_digits.py
and tools/bench/teach.py): batch norm stays in eval mode (its running statistics are frozen; only
its scale and shift learn) and dropout is off; the first two convolution blocks, which find
strokes and their parts, are frozen (the backward pass stops at the third); 40 Adam steps of a
batch of 32: the examples (all of them, or a draw of 16), lightly moved, turned and scaled, and
replayed MNIST digits filling the rest; label smoothing as the shipped model was trained with.
"""

import numpy as np

from .. import safetensors
from ..errors import PycoreError
from ..image import affine_theta, warp
from ..model import read_weights
from ..zoo import mnist
from .fit import files, fit, state_of

BATCH = 32  # examples + replayed digits per step; at most half of it examples
STEPS = 40
LR = 2e-3
LABEL_SMOOTHING = 0.05  # as the shipped model was trained: it keeps the answers as sure as before
FROZEN = ("conv1.", "bn1.", "conv2.", "bn2.")  # strokes and their parts: what every hand shares
SEED = 0  # the same examples make the same personal model
REPLAY_PER_CLASS = 100  # digits of each class in the replay sample built into the site
# light augmentation, so a few examples stand for the small differences between drawings
SHIFT = 1.5  # px
ROTATE = 10  # degrees
SCALE = 0.1


def replay_sample(x, y, per_class=REPLAY_PER_CLASS, seed=0):
    """The replay file's bytes (safetensors: "images" uint8 (N, 28, 28), "labels" uint8 (N,)):
    `per_class` digits of each class drawn from (x, y), digits in [0, 1]."""
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice(np.flatnonzero(y == d), per_class, replace=False) for d in range(10)])
    images = np.round(np.asarray(x)[pick] * 255).astype(np.uint8)
    return safetensors.write({"images": images, "labels": np.asarray(y)[pick].astype(np.uint8)})


def read_replay(data, name="replay.safetensors"):
    """(digits float32 (N, 28, 28) in [0, 1], labels int64 (N,)) from a replay file's bytes."""
    tensors = safetensors.read(data, name)
    if set(tensors) != {"images", "labels"} or tensors["images"].shape[1:] != (28, 28):
        raise PycoreError(f"{name}: expected images (N, 28, 28) and labels (N,)")
    return tensors["images"].astype(np.float32) / 255, tensors["labels"].astype(np.int64)


def augment(x, rng):
    """Each (B, 28, 28) digit moved up to SHIFT px, turned up to ROTATE degrees, scaled by up to
    SCALE, as two drawings of one hand differ once the pad has centred them."""
    b = len(x)
    u = lambda *shape: rng.uniform(-1, 1, shape).astype(np.float32)  # noqa: E731
    params = {
        "angle": u(b) * np.float32(np.radians(ROTATE)),
        "scale": 1 + SCALE * u(b),
        "aspect": np.ones(b, np.float32),
        "shear": np.zeros(b, np.float32),
        "shift": u(b, 2) * np.float32(SHIFT * 2 / 28),
    }
    return warp(np.asarray(x, np.float32), affine_theta(params)).astype(np.float32)


async def train(model, inputs, labels, data, device="cpu", progress=None, steps=None):
    """Fine-tunes a copy of the shipped MNIST CNN (`model.shipped`: its model.json and weights)
    on `inputs` (N, 1, 28, 28) drawn as `labels` ("0" to "9"); see pycore/teach/__init__.py."""
    x, y = examples(inputs, labels)
    replay = read_replay(await data())
    net = module(model.shipped[1]).to(device)
    steps = steps or STEPS
    rng = np.random.default_rng(SEED)
    loss = await fit(net, batches(x, y, replay, steps, rng), steps, LR, device, progress, LABEL_SMOOTHING)
    trained = mnist.MnistCNN()
    trained.load_state_dict(await state_of(net))
    about = {"source": "pycore.teach.digits", "base": model.fingerprint, "examples": len(x)}
    return (*files(lambda folder, metadata: mnist.export(trained, folder, metadata), about), loss)


def examples(inputs, labels):
    """The examples as (N, 28, 28) float32 digits and int64 classes, or a message saying what is wrong."""
    if not len(labels):
        raise PycoreError(
            'Nothing to learn from yet: draw a digit, then press "This is a ..." under the pad; '
            "a few drawings of each digit you write your own way"
        )
    x = np.asarray(inputs, np.float32).reshape(len(labels), 28, 28)
    wrong = sorted({str(k) for k in labels} - set(mnist.LABELS))
    if wrong:
        raise PycoreError(f"examples must be labelled 0 to 9, not {', '.join(wrong)}")
    return x, np.array([mnist.LABELS.index(str(k)) for k in labels], np.int64)


def module(weights):
    """The MNIST CNN holding `weights` (the bytes of a weights.safetensors), ready to fine-tune."""
    model = mnist.MnistCNN()
    try:  # an export keeps what its graph uses: batch norm's step counts are not among them
        left = model.load_state_dict(read_weights(weights), strict=False)
        wrong = [k for k in left["missing_keys"] if not k.endswith("num_batches_tracked")]
        if wrong or left["unexpected_keys"]:
            raise PycoreError(f"missing {wrong}, unexpected {left['unexpected_keys']}")
    except PycoreError as e:
        raise PycoreError(f"only the MNIST demo's CNN can learn handwriting here ({e})") from None
    model.eval()  # batch norm's statistics stay as trained, dropout is off
    for name, p in model.named_parameters():
        p.requires_grad = not name.startswith(FROZEN)
    return model


def batches(x, y, replay, steps, rng):
    """`steps` batches (inputs (BATCH, 1, 28, 28), labels): up to half the batch examples (all of
    them, or a fresh draw of them each step), replayed digits filling the rest, all augmented."""
    rx, ry = replay
    for _ in range(steps):
        mine = rng.permutation(len(x))[: BATCH // 2]
        theirs = rng.choice(len(rx), BATCH - len(mine), replace=False)
        xb = augment(np.concatenate([x[mine], rx[theirs]]), rng)
        yield xb[:, None], np.concatenate([y[mine], ry[theirs]])
