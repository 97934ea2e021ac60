"""The MBConv family's published networks as data: stage tables read by one builder.

Figures are from the ProxylessNAS paper and its released `net.config` files (ImageNet, 224x224,
1000 classes). Each stage row lists per-block widths, kernels, expand ratios and `keep` (0 = the
block is `zero`, i.e. skipped); the first block of a stage carries the stage's stride.
"""

from __future__ import annotations

from proxyless_tf.families.mbconv.config import ZERO, ArchConfig, Block

# Stage strides shared by all ProxylessNAS nets (224 -> 112 after the stem -> 7 before the head).
_PROXYLESS_STRIDES = ([1], [2, 1, 1, 1], [2, 1, 1, 1], [2, 1, 1, 1, 1, 1, 1, 1], [2, 1, 1, 1, 1])

_MOBILE_KERNELS = ([3], [5, 3, 3, 3], [7, 3, 5, 5], [7, 5, 5, 5, 5, 5, 5, 5], [7, 7, 7, 7, 7])
_MOBILE_EXPANDS = ([1], [3, 3, 3, 3], [3, 3, 3, 3], [6, 3, 3, 3, 6, 3, 3, 3], [6, 6, 3, 3, 6])
_MOBILE_KEEP = ([1], [1, 1, 0, 0], [1, 1, 1, 1], [1] * 8, [1] * 5)

_PROXYLESS_TABLE = {
    "proxyless_mobile": dict(
        stem=32, head=1280,
        widths=([16], [32] * 4, [40] * 4, [80] * 4 + [96] * 4, [192] * 4 + [320]),
        kernels=_MOBILE_KERNELS, expands=_MOBILE_EXPANDS, keep=_MOBILE_KEEP),
    "proxyless_cpu": dict(
        stem=40, head=1432,
        widths=([24], [32] * 4, [48] * 4, [88] * 4 + [104] * 4, [216] * 4 + [360]),
        kernels=([3], [3, 3, 3, 3], [3, 3, 3, 5], [3, 3, 3, 3, 5, 3, 3, 3], [5, 5, 5, 3, 5]),
        expands=([1], [6, 3, 3, 3], [6, 3, 3, 3], [6, 3, 3, 3, 6, 3, 3, 3], [6, 3, 3, 3, 6]),
        keep=([1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 0, 0, 1, 1, 1, 1, 1], [1] * 5)),
    "proxyless_gpu": dict(
        stem=40, head=1728,
        widths=([24], [32] * 4, [56] * 4, [112] * 4 + [128] * 4, [256] * 4 + [432]),
        kernels=([3], [5, 3, 3, 3], [7, 3, 3, 3], [7, 5, 5, 5, 5, 3, 3, 5], [7, 7, 7, 5, 7]),
        expands=([1], [3, 3, 3, 3], [3, 3, 3, 3], [6, 3, 3, 3, 6, 3, 3, 3], [6, 6, 6, 6, 6]),
        keep=([1], [1, 0, 0, 0], [1, 0, 0, 1], [1, 0, 0, 1, 1, 0, 1, 1], [1] * 5)),
    "proxyless_mobile_14": dict(
        stem=48, head=1792,
        widths=([24], [40] * 4, [56] * 4, [112] * 4 + [136] * 4, [256] * 4 + [448]),
        kernels=_MOBILE_KERNELS, expands=_MOBILE_EXPANDS, keep=_MOBILE_KEEP),
}

# MobileNetV2 (expand t, channels c, repeats n, first stride s), all kernels 3x3.
_MOBILENET_V2_TCNS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                      (6, 160, 3, 2), (6, 320, 1, 1))


def _blocks_from_stages(widths, kernels, expands, keep, strides) -> tuple[Block, ...]:
  blocks = []
  for stage in zip(widths, kernels, expands, keep, strides):
    for filters, kernel, expand, kept, stride in zip(*stage, strict=True):
      if kept:
        blocks.append(Block(filters=filters, stride=stride, kernel_size=kernel, expand_ratio=expand))
      else:
        blocks.append(Block(filters=filters, stride=stride, type=ZERO))
  return tuple(blocks)


def _proxyless(name: str) -> ArchConfig:
  row = _PROXYLESS_TABLE[name]
  blocks = _blocks_from_stages(row["widths"], row["kernels"], row["expands"], row["keep"],
                               _PROXYLESS_STRIDES)
  # Symmetric (PyTorch) padding: their only released weights are PyTorch's, and the measured TFLite
  # latency of the two paddings is the same within noise (BENCHMARKS.md "Padding convention").
  return ArchConfig(name=name, blocks=blocks, stem_filters=row["stem"], head_filters=row["head"],
                    padding="symmetric")


def mobilenet_v2(width: float = 1.0) -> ArchConfig:
  """TensorFlow's padding ("same"), as `keras.applications.MobileNetV2`: the hand-designed
  baseline of the searches, trained here."""
  blocks = []
  for t, c, n, s in _MOBILENET_V2_TCNS:
    for i in range(n):
      blocks.append(Block(filters=c, stride=s if i == 0 else 1, kernel_size=3, expand_ratio=t))
  base = ArchConfig(name="mobilenet_v2", blocks=tuple(blocks), stem_filters=32, head_filters=1280)
  return base.with_width(width)


# The family's published nets (every family's: `proxyless_tf.arch.preset_names()`)
MBCONV_PRESETS = {name: (lambda name=name: _proxyless(name)) for name in _PROXYLESS_TABLE}
MBCONV_PRESETS["mobilenet_v2"] = mobilenet_v2
