"""Teaching a model in the page: a visitor's examples make a personal copy of a shipped model.

Each kind of teaching is a module here, named as the page asks for it (`train` requests carry
`kind`): `digits` (the MNIST CNN learns a handwriting) and `photos` (an image classifier learns the
visitor's own classes, on features the worker computed per photo). pycore/worker.py finds the
module, and a module has

    async def train(model, inputs, labels, data, device, progress, steps=None)
        -> (model.json text, weights.safetensors bytes, last loss): what the page keeps

model     the worker's loaded model: `shipped` (its files), `fingerprint`, `backend`, `input`
inputs    (N, *example shape) float32: the examples as the model takes them, or in the shape
          the module's optional `example_shape(model)` gives (photos: the base's features)
labels    N strings, each example's label
data      `await data()` fetches the bytes of the extra file the page named, if it needs one
device    "cpu" or "webgpu": the path in use, where the training runs
progress  progress(step, steps, loss), called after each step
steps     a test's shorter training; None for the module's own number

A module may also set `DEVICE`, the one path it trains on whatever the model runs on. It checks
the examples first (a PycoreError says what is wrong, in words for the visitor), trains (`fit.fit`
for a network), yielding between steps so the worker keeps answering, and returns the new model's
files (`fit.files`), or a form of its own that its

    def personal(model, json text, bytes) -> Model

turns back into the personal model (photos keeps the head alone, a few KB). The worker swaps the
copy in, keeps the shipped files for a reset, and falls back to the CPU path if the GPU fails while
it learns; the page (web/widgets/teach.js) stores what train returned and the examples, keyed by the
shipped model's fingerprint, and gives it back through `use_personal` after a reload.
"""
