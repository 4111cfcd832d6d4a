"""Small models of the kinds users bring, exported from PyTorch as users export them: the test
fixtures of tests/unit/test_user_models.py (CPU path) and tests/gpu/test_user_models_webgpu.py.

    python3 tools/user_models.py            # writes tests/fixtures/user_models/*.onnx
    python3 tools/user_models.py --check    # exports again and fails if a fixture differs

Four architectures, each the pattern that matters, at a size that keeps each file under 200 KB:
MobileNetV3-style (hard-swish, squeeze-excite with hard-sigmoid), ConvNeXt-style (7x7 depthwise,
LayerNorm over channels, GELU, layer scale), a small ViT (patch embedding, class token, multi-head
attention, LayerNorm, GELU) and a U-Net-style decoder (ConvTranspose, Concat, Resize). Each goes
through both of torch.onnx.export's exporters: TorchScript at opset 17 and dynamo at opset 18.
torch (2.13.0, CPU) and onnxscript are needed here only, never by the tests.
"""

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "user_models"
EXPORTERS = {"torchscript": 17, "dynamo": 18}  # exporter -> opset
SHAPE = (1, 3, 32, 32)  # every model's input: a small RGB image


def models():
    """{name: torch module in eval mode, seeded}."""
    import torch
    from torch import nn

    class SqueezeExcite(nn.Module):
        def __init__(self, c, r=4):
            super().__init__()
            self.reduce, self.expand = nn.Conv2d(c, c // r, 1), nn.Conv2d(c // r, c, 1)

        def forward(self, x):
            s = x.mean((2, 3), keepdim=True)
            return x * nn.functional.hardsigmoid(self.expand(torch.relu(self.reduce(s))))

    class InvertedResidual(nn.Module):
        def __init__(self, c, expand, k, stride):
            super().__init__()
            e = c * expand
            self.body = nn.Sequential(
                nn.Conv2d(c, e, 1, bias=False),
                nn.BatchNorm2d(e),
                nn.Hardswish(),
                nn.Conv2d(e, e, k, stride, k // 2, groups=e, bias=False),
                nn.BatchNorm2d(e),
                nn.Hardswish(),
                SqueezeExcite(e),
                nn.Conv2d(e, c, 1, bias=False),
                nn.BatchNorm2d(c),
            )
            self.residual = stride == 1

        def forward(self, x):
            y = self.body(x)
            return x + y if self.residual else y

    class MobileNetV3(nn.Module):
        def __init__(self):
            super().__init__()
            stem = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
            self.stem = nn.Sequential(stem, nn.BatchNorm2d(16), nn.Hardswish())
            self.blocks = nn.Sequential(InvertedResidual(16, 3, 3, 1), InvertedResidual(16, 4, 5, 2))
            self.head = nn.Sequential(nn.Linear(16, 32), nn.Hardswish(), nn.Linear(32, 10))

        def forward(self, x):
            x = self.blocks(self.stem(x))
            return self.head(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))

    class ChannelsLayerNorm(nn.Module):  # ConvNeXt's LayerNorm over channels of an NCHW tensor
        def __init__(self, c):
            super().__init__()
            self.norm = nn.LayerNorm(c, eps=1e-6)

        def forward(self, x):
            return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    class ConvNeXtBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
            self.norm = nn.LayerNorm(c, eps=1e-6)
            self.up, self.down = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
            self.scale = nn.Parameter(torch.full((c,), 0.5))

        def forward(self, x):
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.scale * self.down(nn.functional.gelu(self.up(self.norm(y))))
            return x + y.permute(0, 3, 1, 2)

    class ConvNeXt(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 24, 4, 4), ChannelsLayerNorm(24))
            self.blocks = nn.Sequential(ConvNeXtBlock(24), ConvNeXtBlock(24))
            self.norm, self.head = nn.LayerNorm(24), nn.Linear(24, 10)

        def forward(self, x):
            x = self.blocks(self.stem(x))
            return self.head(self.norm(x.mean((2, 3))))

    class Attention(nn.Module):  # written out as exporters see timm's: qkv, reshape, softmax
        def __init__(self, d, heads):
            super().__init__()
            self.heads, self.qkv, self.proj = heads, nn.Linear(d, 3 * d), nn.Linear(d, d)

        def forward(self, x):
            b, n, d = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            a = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
            return self.proj((a.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d))

    class Encoder(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.norm1, self.attn = nn.LayerNorm(d), Attention(d, heads)
            self.norm2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class ViT(nn.Module):
        def __init__(self, d=32, patch=8, side=32):
            super().__init__()
            self.patch = nn.Conv2d(3, d, patch, patch)
            self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
            self.pos = nn.Parameter(torch.randn(1, (side // patch) ** 2 + 1, d) * 0.02)
            self.blocks = nn.Sequential(Encoder(d, 4), Encoder(d, 4))
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 10)

        def forward(self, x):
            x = self.patch(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
            return self.head(self.norm(self.blocks(x))[:, 0])

    def double(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down1, self.down2, self.bottom = double(3, 8), double(8, 16), double(16, 32)
            self.up2, self.dec2 = nn.ConvTranspose2d(32, 16, 2, 2), double(32, 16)
            self.dec1, self.out = double(24, 8), nn.Conv2d(8, 2, 1)

        def forward(self, x):
            a = self.down1(x)
            b = self.down2(nn.functional.max_pool2d(a, 2))
            c = self.bottom(nn.functional.max_pool2d(b, 2))
            b = self.dec2(torch.cat([self.up2(c), b], 1))
            up = nn.functional.interpolate(b, scale_factor=2.0, mode="bilinear", align_corners=False)
            return self.out(self.dec1(torch.cat([up, a], 1)))

    made = {}
    for name, cls in [("mobilenetv3", MobileNetV3), ("convnext", ConvNeXt), ("vit", ViT), ("unet", UNet)]:
        torch.manual_seed(0)
        m = cls()
        for mod in m.modules():  # BatchNorm statistics other than the identity, so folding them counts
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
        made[name] = m.eval()
    return made


def export(module, shape, exporter):
    """The module's ONNX file as bytes, from one exporter."""
    import torch

    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    buf = io.BytesIO()
    options = {"dynamo": exporter == "dynamo", "opset_version": EXPORTERS[exporter]}
    if exporter == "dynamo":
        options["optimize"] = True  # what torch.onnx.export does by default; said so it stays
    with torch.no_grad():
        program = torch.onnx.export(module, (x,), None if exporter == "dynamo" else buf, **options)
    if exporter == "dynamo":
        return _without_sources(program.model_proto).SerializeToString()
    return buf.getvalue()


def _without_sources(model):
    """The dynamo exporter's model without the Python source lines and stack traces it records per
    node (and the file's own line numbers with them): the same module exports the same bytes."""
    for graph in [model.graph, *(f for f in model.functions)]:
        for node in graph.node:
            del node.metadata_props[:]
            node.doc_string = ""
    del model.metadata_props[:]
    return model


def fixtures():
    """{file name: bytes} of every fixture."""
    import contextlib
    import os

    out = {}
    for name, module in models().items():
        for exporter in EXPORTERS:
            with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                out[f"{name}-{exporter}.onnx"] = export(module, SHAPE, exporter)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="fail if a committed fixture differs")
    args = p.parse_args(argv)
    made = fixtures()
    if args.check:
        stale = [n for n, data in made.items() if (FIXTURES / n).read_bytes() != data]
        if stale:
            raise SystemExit(f"fixtures differ from a new export: {stale}")
        return 0
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for n, data in made.items():
        (FIXTURES / n).write_bytes(data)
        print(f"{n}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
