"""Resize and Upsample onto the IR's Resize: nearest and linear, with every coordinate
transformation exporters write. Scales and sizes must be constants (shapes are static); cubic
interpolation, antialiasing, exclude_outside and tf_crop_and_resize are refused by name."""

import math

from .registry import onnx_op

RESIZE = [
    "mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
    "extrapolation_value", "antialias", "axes", "keep_aspect_ratio_policy",
]  # fmt: skip


def _floats(ctx, node, k, what):
    t = node.input(k)
    return [float(v) for v in ctx.const(t, what).reshape(-1)] if t else []


def _emit(ctx, node, scales, sizes, **modes):
    x = node.input(0)
    ctx.emit("Resize", [x], node.output(0), sizes=[int(d) for d in sizes], scales=scales, **modes)


def _from_scales(ctx, node, scales):
    shape = ctx.shape(node.input(0))
    if len(scales) != len(shape):
        node.fail(f"{len(scales)} scales for rank {len(shape)}")
    return scales, [math.floor(n * s) for n, s in zip(shape, scales)]


# https://onnx.ai/onnx/operators/onnx__Upsample.html: versions 7..10 (scales an attribute in 7, an
# input from 9; deprecated in 10 with the same meaning): asymmetric coordinates, nearest rounds down
@onnx_op("Upsample", (7, 10), ["mode", "scales"])
def upsample(ctx, node):
    given = node.attr("scales") if node.version < 9 else _floats(ctx, node, 1, "scales")
    scales, sizes = _from_scales(ctx, node, [float(s) for s in given])
    mode = {"bilinear": "linear"}.get(node.attr("mode", "nearest"), node.attr("mode", "nearest"))
    _emit(
        ctx, node, scales, sizes, mode=mode, coordinate_transformation_mode="asymmetric", nearest_mode="floor"
    )


# https://onnx.ai/onnx/operators/onnx__Resize.html: versions 10..19. 10 takes scales only, with
# asymmetric coordinates and nearest rounding down, as Upsample; 11 adds roi, sizes and the
# coordinate transformations, 18 axes, antialias and keep_aspect_ratio_policy, 19 half_pixel_symmetric
@onnx_op("Resize", (10, 19), RESIZE)
def resize(ctx, node):
    mode = node.attr("mode", "nearest")
    if mode not in ("nearest", "linear"):
        node.fail(f"mode={mode!r} is not supported (nearest or linear)")
    if node.version == 10:
        scales, sizes = _from_scales(ctx, node, _floats(ctx, node, 1, "scales"))
        modes = {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
        return _emit(ctx, node, scales, sizes, mode=mode, **modes)
    coords = node.attr("coordinate_transformation_mode", "half_pixel")
    for name in ("antialias", "exclude_outside"):
        if node.attr(name, 0):
            node.fail(f"{name}={node.attr(name)} is not supported")
    if coords == "tf_crop_and_resize":
        node.fail("coordinate_transformation_mode='tf_crop_and_resize' is not supported")
    shape = list(ctx.shape(node.input(0)))
    axes = [a % len(shape) for a in node.attr("axes", range(len(shape)))]
    given_scales = _floats(ctx, node, 2, "scales")
    given_sizes = [int(v) for v in _floats(ctx, node, 3, "sizes")]
    if bool(given_scales) == bool(given_sizes):
        node.fail("exactly one of scales and sizes must be given")
    if len(given_scales or given_sizes) != len(axes):
        node.fail(f"{len(given_scales or given_sizes)} scales or sizes for axes {axes}")
    scales = [1.0] * len(shape)
    if given_scales:
        for a, s in zip(axes, given_scales):
            scales[a] = s
        scales, sizes = _from_scales(ctx, node, scales)
    else:
        sizes = list(shape)
        for a, m in zip(axes, given_sizes):
            sizes[a] = m
        scales = [m / n if n else 1.0 for m, n in zip(sizes, shape)]
        policy = node.attr("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":  # one scale for every axis named, the smallest or the largest
            pick = {"not_larger": min, "not_smaller": max}.get(policy)
            if pick is None:
                node.fail(f"keep_aspect_ratio_policy={policy!r} is not supported")
            one = pick(scales[a] for a in axes)
            scales = [one if d in axes else 1.0 for d in range(len(shape))]
            sizes = [int(one * n + 0.5) if d in axes else n for d, n in enumerate(shape)]  # half up
    modes = {
        "coordinate_transformation_mode": coords,
        "nearest_mode": node.attr("nearest_mode", "round_prefer_floor"),
    }
    _emit(ctx, node, scales, sizes, mode=mode, **modes)
