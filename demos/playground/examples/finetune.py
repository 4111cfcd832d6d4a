# Fine-tune the MNIST demo's CNN (its weights fetched from this site) on a few digits drawn in
# styles it misreads, with ordinary digits mixed in so that it does not forget them; then read new
# copies of each, at positions it was not trained on.
import numpy as np

import pycore
from pycore import safetensors
from pycore.nn import functional as F
from pycore.playground import fetch, plot
from pycore.zoo.mnist import MnistCNN

DIGITS = {  # label, drawn on a 5 x 7 grid; the first two are the styles to teach
    "9 with a hooked tail": (9, ".###. #...# #...# .#### ....# #...# .###."),
    "4 with a closed top": (4, ".###. #...# #...# ##### ....# ....# ....#"),
    "1": (1, "..##. .###. #.##. ..##. ..##. ..##. #####"),
    "2": (2, ".###. #...# ...#. ..#.. .#... #.... #####"),
    "3": (3, "##### ...#. ..#.. .###. ....# #...# .###."),
    "5": (5, "##### #.... ####. ....# ....# #...# .###."),
    "7": (7, "##### ....# ...#. .#### ..#.. .#... .#..."),
    "8": (8, ".###. #...# .#.#. ..#.. .#.#. #...# .###."),
}


def draw(rows, dx, dy):
    """A 28 x 28 image in [0, 1] as the demo's pad gives one: the grid scaled 3x, moved, softened."""
    glyph = np.array([[c == "#" for c in row] for row in rows.split()], np.float32)
    image = np.zeros((28, 28), np.float32)
    image[4 + dy : 25 + dy, 7 + dx : 22 + dx] = np.kron(glyph, np.ones((3, 3), np.float32))
    soft = sum(np.roll(image, (a, b), (0, 1)) for a in (-1, 0, 1) for b in (-1, 0, 1)) / 9
    return np.maximum(0.8 * image, soft)


def batch(moves):
    names = [name for name in DIGITS for _ in moves]
    images = np.stack([draw(DIGITS[n][1], dx, dy) for n in DIGITS for dx, dy in moves])[:, None]
    return names, pycore.tensor(images), pycore.tensor([DIGITS[n][0] for n in names])


def report(title, names, x):
    read = model(x).argmax(1).numpy()
    print(title)
    for name in DIGITS:
        got = [str(r) for n, r in zip(names, read) if n == name]
        right = sum(g == str(DIGITS[name][0]) for g in got)
        print(f"  {name:22} read as {' '.join(got)}  ({right} of {len(got)} right)")


model = MnistCNN()
model.load_state_dict(safetensors.read(await fetch("models/mnist/weights.safetensors")), strict=False)
model.eval()  # batch norm keeps the statistics of MNIST: a few digits are too few to replace them
train = batch([(-2, 0), (2, 0), (0, 2)])
test_names, test_x, _ = batch([(-2, -2), (2, 2), (-2, 2), (2, -2), (0, 0)])
report("Before:", test_names, test_x)

opt = pycore.optim.Adam(model.parameters(), lr=1e-3)
losses = []
for _ in range(10):
    opt.zero_grad()
    loss = F.cross_entropy(model(train[1]), train[2])
    loss.backward()
    opt.step()
    losses.append(loss.item())
    plot(losses, label="fine-tuning loss")
report("After 10 steps on 3 copies of each:", test_names, test_x)
