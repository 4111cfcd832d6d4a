"""Small architectures written once against PyTorch's layer names, built with either library's
`nn` (pycore.nn or torch.nn): the fixtures, their tests and the benchmarks build the same model."""


def fixture_cnn(nn):
    """The CNN of tests/fixtures/tensor/. The first convolution has no bias: batch norm right after
    it subtracts any bias again, so that bias's gradient is zero up to rounding, and an optimiser
    (Adam's first step is about lr * sign(gradient)) would turn the rounding into the result."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def bench_cnn(nn):
    """The training-step benchmark's MNIST CNN (tools/bench/train_step.py)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )
