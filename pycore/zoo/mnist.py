"""The MNIST demo's CNN as a pycore.nn module (models/mnist/ holds its trained weights).

    [conv3x3 + BN + ReLU + maxpool2] x 3 (1 -> 16 -> 32 -> 64 channels; 28 -> 14 -> 7 -> 3),
    flatten 576, linear 64 + ReLU, dropout 0.3, linear 10; export() ends the graph in a softmax.
The parameter names are those of models/mnist/weights.safetensors.
"""

from .. import nn
from ..export import export as export_graph

CHANNELS = (1, 16, 32, 64)
LABELS = [str(d) for d in range(10)]
PREPROCESS = {"kind": "mnist", "size": 28, "fit": 20, "range": [0, 1]}


class MnistCNN(nn.Module):
    def __init__(self):
        super().__init__()
        for i, (a, b) in enumerate(zip(CHANNELS, CHANNELS[1:]), 1):
            setattr(self, f"conv{i}", nn.Conv2d(a, b, 3, padding=1, bias=False))
            setattr(self, f"bn{i}", nn.BatchNorm2d(b))
        self.fc1 = nn.Linear(64 * 3 * 3, 64)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        """Logits of (N, 1, 28, 28) digits in [0, 1]."""
        for i in range(1, 4):
            x = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)).relu()
            x = nn.functional.max_pool2d(x, 2)
        return self.fc2(self.drop(self.fc1(x.flatten(1)).relu()))


def export(model, folder=None, metadata=None):
    """The demo's graph: one 28x28 digit in, ten probabilities out."""
    from ..tensors import zeros

    return export_graph(
        lambda x: model(x).softmax(1),
        zeros(1, 1, 28, 28),
        folder,
        name="mnist-cnn",
        labels=LABELS,
        preprocess=PREPROCESS,
        input="image",
        output="probabilities",
        module=model,
        metadata=metadata,
    )
