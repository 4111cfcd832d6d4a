"""Teaching the classify demo classes of its visitor's own, in real Chromium: real photos (the
brick, grass and gravel textures of tests/unit/test_teach_classes.py, which ImageNet has no class
for, as crops written to PNG files) given to each class with its file input, dropped onto its row
or added from the photo shown, each photo's
features computed in the worker as it is added, a head trained on them; held-out crops (pixels it
never saw) are then named right, the classes survive a reload, the original comes back on
request, and the download loads in CPython. On WebGPU a few photos train and a GPU lost while a
photo's features are computed is recreated. Bad input: no classes, one class, a class without
photos, a file that is no image; a stored model that is corrupt or stale; storage that refuses.
"""

import zipfile

import numpy as np
import pytest
from images import preprocess, read_png, write_png
from pages import download_model, wait_hook

import build
import pycore
from tools.browser import local_context, wait_ready

WIDGET = "document.querySelector('pycore-classifier')"
PART = f"(id) => {WIDGET}.shadowRoot.querySelector(id)"
NAMES = ["brick", "grass", "gravel"]
SIDE = 240  # crop windows of the 512 x 512 photos: taught from the top half, judged on the bottom
TAUGHT = [(0, 0, False), (0, 136, True), (0, 272, False)]
HELD_OUT = [(272, 0, True), (272, 272, False)]


def crops(name, boxes):
    with zipfile.ZipFile(build.pypi_file("scikit-image")) as z:
        photo = read_png(z.read(f"skimage/data/{name}.png"))
    out = []
    for top, left, mirrored in boxes:
        crop = photo[top : top + SIDE, left : left + SIDE]
        out.append(np.ascontiguousarray(crop[:, ::-1] if mirrored else crop))
    return out


def files(tmp, name, boxes):
    """The crops as PNG files in `tmp`, named after their class and window."""
    paths = []
    for i, crop in enumerate(crops(name, boxes)):
        path = tmp / f"{name}-{boxes[i][0]}-{boxes[i][1]}.png"
        path.write_bytes(write_png(crop))
        paths.append(path)
    return paths


def open_demo(page, site, backend="cpu"):
    page.goto(f"{site}/demos/classify/index.html?backend={backend}")
    assert wait_ready(page) == "ready"


def hook(page, testid):
    return page.get_by_test_id(testid).text_content()


def klass(page, name):
    return page.locator(f"[data-class='{name}']")


def add_class(page, name):
    page.get_by_test_id("new-class").fill(name)
    page.get_by_test_id("add-class").click()
    klass(page, name).wait_for()


def upload(page, name, paths):
    """Adds the photos to the class and waits until each is counted."""
    before = int(klass(page, name).get_by_test_id("class-count").text_content())
    klass(page, name).get_by_test_id("class-files").set_input_files(paths)
    wait_count(page, name, before + len(paths))


def wait_count(page, name, n):
    page.wait_for_function(
        f"([name, n]) => ({PART})(`[data-class='${{name}}'] [data-testid=class-count]`)"
        ".textContent === String(n)",
        arg=[name, n],
        timeout=120_000,
    )


DROPPED = """(bytes) => {
  const files = new DataTransfer();
  files.items.add(new File([Uint8Array.from(bytes)], "dropped.png", { type: "image/png" }));
  return files;
}"""


def give(page, name, path, way):
    """Adds one photo to the class the other two ways a visitor has: dropped onto its row, or shown
    above (classified) and then added with the row's button; waits until it is counted."""
    before = int(klass(page, name).get_by_test_id("class-count").text_content())
    if way == "drop":
        files = page.evaluate_handle(DROPPED, list(path.read_bytes()))
        klass(page, name).dispatch_event("drop", {"dataTransfer": files})
    else:
        names(page, [path])
        klass(page, name).get_by_test_id("class-photo").click()
    wait_count(page, name, before + 1)


def train_and_wait(page, expect="trained"):
    page.get_by_test_id("train").click()
    page.wait_for_function(
        f"() => !['', 'training'].includes(({PART})('[data-testid=training]').textContent)",
        timeout=120_000,
    )
    return hook(page, "training")


def wait_note(page, text):
    page.wait_for_function(f"(t) => ({PART})('[data-testid=teach-note]').textContent.includes(t)", arg=text)


PREDICT = f"""async ([name, bytes]) => {{
  const r = await {WIDGET}.predict(new File([Uint8Array.from(bytes)], name, {{ type: "image/png" }}));
  return [r.label, r.probability];
}}"""


def names(page, paths):
    return [page.evaluate(PREDICT, [p.name, list(p.read_bytes())])[0] for p in paths]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("photos")
    return {n: (files(tmp, n, TAUGHT), files(tmp, n, HELD_OUT)) for n in NAMES}


@pytest.fixture(scope="module")
def taught(browser, site, photos):
    """One visitor on the CPU path: the bad inputs first, then three classes of three photos each,
    trained; the tests below go on with it in order, as a visitor would."""
    context, external = local_context(browser, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_demo(page, site)
    page.evaluate(f"() => {WIDGET}.addEventListener('trained', (e) => (window.trained = e.detail))")
    assert hook(page, "model-kind") == "original"
    assert train_and_wait(page).startswith("Name two or more classes first")
    add_class(page, "brick")
    assert train_and_wait(page) == "Add a second class: it learns to tell your classes apart."
    add_class(page, "grass")
    assert train_and_wait(page) == 'Give "brick", "grass" a few photos, or remove them.'
    page.get_by_test_id("new-class").fill("Brick")
    page.get_by_test_id("add-class").click()
    assert 'a class called "brick" already' in hook(page, "teach-note")
    not_image = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo at all"}
    klass(page, "brick").get_by_test_id("class-files").set_input_files(not_image)
    wait_note(page, "Nothing was kept")
    assert "notes.txt" in hook(page, "teach-note"), hook(page, "teach-note")
    assert klass(page, "brick").get_by_test_id("class-count").text_content() == "0"
    add_class(page, "gravel")
    for name in NAMES[:2]:
        upload(page, name, photos[name][0])
    gravel = photos["gravel"][0]
    give(page, "gravel", gravel[0], "drop")
    give(page, "gravel", gravel[1], "shown")
    upload(page, "gravel", gravel[2:])
    assert hook(page, "examples") == "9"
    assert page.get_by_test_id("example-list").locator("img").count() == 9
    assert train_and_wait(page) == "trained"
    yield page
    context.close()
    assert external == [] and errors == [], (external, errors)


def test_held_out_photos_are_named_as_their_class(taught, photos):
    assert hook(taught, "model-kind") == "personal"
    detail = taught.evaluate("trained")
    assert detail["examples"] == 9 and detail["backend"] == "cpu" and 0 < detail["loss"] < 0.5, detail
    for name in NAMES:
        assert names(taught, photos[name][1]) == [name, name], name


def test_the_download_loads_in_cpython_and_names_the_classes(taught, photos, tmp_path):
    model = pycore.load(download_model(taught, tmp_path))
    assert model.labels == NAMES
    for name in NAMES:
        for crop in crops(name, HELD_OUT):
            assert NAMES[int(model.run(preprocess(crop)).argmax())] == name


STORED = f"""async () => {{
  const {{ Taught }} = await import("/web/taught.js");
  return (await new Taught("photos", {WIDGET}.modelURL.href).personal()).weights.byteLength;
}}"""


def test_the_classes_and_the_personal_model_survive_a_reload(taught, photos):
    # what the browser keeps of the personal model is its head: 3 x 1280 weights, 3 biases, names
    assert 3 * 1281 * 4 < taught.evaluate(STORED) < 3 * 1281 * 4 + 2000
    add_class(taught, "moss")  # named, no photo yet: kept too
    taught.reload()
    assert wait_ready(taught) == "ready"
    assert klass(taught, "moss").get_by_test_id("class-count").text_content() == "0"
    klass(taught, "moss").get_by_test_id("remove-class").click()
    klass(taught, "moss").wait_for(state="detached")
    assert hook(taught, "model-kind") == "personal" and hook(taught, "examples") == "9"
    counts = [klass(taught, n).get_by_test_id("class-count").text_content() for n in NAMES]
    assert counts == ["3", "3", "3"]
    assert taught.get_by_test_id("example-list").locator("img").count() == 9
    assert not taught.get_by_test_id("teach-note").is_visible()
    assert names(taught, photos["gravel"][1][:1]) == ["gravel"]


def test_a_removed_class_takes_its_photos_and_the_original_comes_back(taught, photos):
    klass(taught, "gravel").get_by_test_id("remove-class").click()
    assert hook(taught, "examples") == "6" and klass(taught, "gravel").count() == 0
    taught.get_by_test_id("reset-model").click()
    wait_hook(taught, "model-kind", "original")
    wait_note(taught, "6 examples are kept")
    label, _ = taught.evaluate(
        PREDICT, ["chelsea.png", list((build.ROOT / "dist/demos/classify/samples/chelsea.png").read_bytes())]
    )
    assert label in {"tiger cat", "Egyptian cat", "tabby"}, label


def test_on_webgpu_features_and_training_work_and_a_lost_gpu_is_recreated(page, site, photos):
    open_demo(page, site, "webgpu")
    assert hook(page, "backend") == "webgpu", hook(page, "backend-note")
    for name in NAMES[:2]:
        add_class(page, name)
        upload(page, name, photos[name][0][:1])
    page.evaluate("() => pycore.model.loseDevice()")  # a driver reset before the next photo
    upload(page, "grass", photos["grass"][0][1:2])
    note = hook(page, "teach-note")
    assert "the GPU device was lost" in note and "recreated it" in note, note
    assert hook(page, "backend") == "webgpu"
    upload(page, "brick", photos["brick"][0][1:2])
    detail = page.evaluate(f"() => {WIDGET}.train()")
    assert detail["examples"] == 4 and detail["backend"] == "cpu", detail  # the head trains on the CPU
    assert hook(page, "model-kind") == "personal" and hook(page, "backend") == "webgpu"
    assert names(page, photos["grass"][1][:1]) == ["grass"]


SAVE = f"""async (value) => {{
  const {{ Taught }} = await import("/web/taught.js");
  const taught = new Taught("photos", {WIDGET}.modelURL.href);
  return taught.savePersonal({{ ...value, weights: Uint8Array.from(value.weights) }});
}}"""


def test_a_stored_model_that_is_corrupt_or_stale_is_set_aside_with_a_note(page, site, photos):
    open_demo(page, site)
    json = page.request.get(f"{site}/models/efficientnet-lite0/model.json").text()
    # cut short: the stale one is set aside for its fingerprint before its weights are read
    weights = list(page.request.get(f"{site}/models/efficientnet-lite0/weights.safetensors").body()[:1000])
    fingerprint = page.evaluate(f"{WIDGET}.model.fingerprint")
    for broken, why in [
        ({"fingerprint": fingerprint, "weights": weights}, "cannot be read"),
        ({"fingerprint": "0" * 64, "weights": weights}, "another version of this model"),
    ]:
        page.evaluate(SAVE, {"json": json, "examples": 2, **broken})
        page.reload()
        assert wait_ready(page) == "ready"
        note = hook(page, "teach-note")
        assert why in note and "the original runs" in note, note
        assert hook(page, "model-kind") == "original"


REFUSE = """IDBObjectStore.prototype.put = function () {
  throw new DOMException("the quota is used up", "QuotaExceededError");
};"""


def test_when_the_browser_will_not_store_it_the_page_says_so_and_keeps_working(page, site, photos):
    page.add_init_script(REFUSE)
    open_demo(page, site)
    for name in NAMES[:2]:
        add_class(page, name)
        upload(page, name, photos[name][0][:2])
    wait_note(page, "the browser's storage for this site is full")  # said once the refusal comes
    assert train_and_wait(page) == "trained"
    assert "Download my model keeps a copy" in hook(page, "teach-note")
    assert names(page, photos["brick"][1][:1]) == ["brick"]
