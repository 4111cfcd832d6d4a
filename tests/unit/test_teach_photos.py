"""Teaching EfficientNet-Lite0 the visitor's own classes through the worker's Python half
(pycore/worker.py `features` and `train` with kind "photos"), natively, as the classify demo
does: each photo's features once, then a head on them, swapped in with the classes' names as
labels. The photos are those of tests/unit/test_teach_classes.py (brick, grass, gravel crops)."""

import asyncio
import zipfile

import numpy as np
import pytest

from pycore import worker
from pycore.errors import PycoreError
from pycore.image import read_png
from pycore.model import Model, graph_files
from tests.unit.test_teach_classes import HELD_OUT, NAMES, TAUGHT, base, crops  # noqa: F401
from tests.unit.test_teach_digits import JS
from tools.fetch import pypi_file


@pytest.fixture(scope="module")
def photos():
    with zipfile.ZipFile(pypi_file("scikit-image")) as z:
        return {name: read_png(z.read(f"skimage/data/{name}.png")) for name in NAMES}


async def loaded(base, model_id):  # noqa: F811
    doc, weights = graph_files(base.graph)
    return await worker.load(model_id, doc, JS(weights), "efficientnet-lite0", "cpu")


def test_photos_taught_through_the_worker_are_told_apart(base, photos):  # noqa: F811
    async def go():
        await loaded(base, "photos")
        try:
            feats, labels, steps = [], [], []
            for name, photo in photos.items():
                for x in crops(photo, TAUGHT):
                    out = await worker.features("photos", JS(x.tobytes()))
                    assert out["backend"] == "cpu" and out["note"] == ""
                    feats.append(np.frombuffer(out["features"], np.float32))
                    labels.append(name)
            f = np.concatenate(feats)
            done = await worker.train(
                "photos", "photos", JS(f.tobytes()), labels, None, lambda *s: steps.append(s)
            )
            assert done["info"]["kind"] == "personal" and done["info"]["labels"] == NAMES
            assert done["examples"] == len(labels) and len(steps) == steps[-1][1] and done["loss"] < 0.5
            for name, photo in photos.items():
                for x in crops(photo, HELD_OUT):
                    probs = np.frombuffer(
                        (await worker.predict("photos", JS(x.tobytes())))["probabilities"], np.float32
                    )
                    assert NAMES[int(np.argmax(probs))] == name
            with pytest.raises(PycoreError, match="at least two classes"):
                await worker.train("photos", "photos", JS(f[:1280].tobytes()), ["brick"], None, None)
            with pytest.raises(PycoreError, match="1 labels need 1280 input values"):
                await worker.train("photos", "photos", JS(f[:100].tobytes()), ["brick"], None, None)
            # what the page keeps is the head, and the download is the whole model, as predicted
            assert len(done["weights"]) < 3 * 1281 * 4 + 2000
            files = await worker.files("photos")
            download = Model.from_bytes(files["model.json"], bytes(files["weights.safetensors"]))
            x = crops(photos["grass"], HELD_OUT)[0]
            assert NAMES[int(np.argmax(download.run(x)))] == "grass"
            original = await worker.reset("photos")
            assert original["kind"] == "original" and len(original["labels"]) == 1000
            again = await worker.use_personal("photos", "photos", done["json"], JS(bytes(done["weights"])))
            assert again["kind"] == "personal" and again["labels"] == NAMES
            with pytest.raises(PycoreError, match="cannot be read: the stored classes are damaged"):
                damaged = bytearray(done["weights"])
                damaged[-3] ^= 1
                await worker.use_personal("photos", "photos", "", JS(bytes(damaged)))
        finally:
            await worker.unload("photos")

    asyncio.run(go())
