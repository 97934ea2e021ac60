"""A MobileNetV3-style net as data: a stem, inverted-residual blocks that each carry their own
kernel, expansion, squeeze-and-excite switch and activation (ReLU or h-swish), a 1x1 head conv,
global pooling, a pooled feature layer and the classifier (Howard et al. 2019; the per-block
choices are those of TuNAS's `mobile_search_space_v3`).

The JSON names its family (`"family": "mobilenet_v3"`), which is how loading finds this reader.
Every refusal is one line that says which field is wrong and what it may be.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from proxyless_tf.arch.config import (MAX_ACTIVATION, MAX_PARAMS, NAME_PATTERN, ArchConfigError,
                                      NetConfigMethods, _check_float, _check_int, _check_kernel,
                                      make_divisible)

FAMILY = "mobilenet_v3"
ACTIVATIONS = ("relu", "hswish")
MAX_BLOCKS = 200
MAX_EXPAND = 16
_BLOCK_KEYS = ("filters", "stride", "kernel_size", "expand_ratio", "se", "activation", "type")
_TOP_KEYS = ("family", "name", "input_size", "input_channels", "num_classes", "stem", "blocks",
             "head_filters", "feature_filters", "se_ratio", "dropout", "bn")


def expanded_channels(in_channels: int, expand_ratio: float) -> int:
  """The depthwise width of a block: MobileNetV3's `_depth(in * ratio)` (ratios may be fractional,
  2.3 and 2.5 in the published Large net); ratio 1 keeps the input's width (no expand conv)."""
  return in_channels if expand_ratio == 1 else make_divisible(in_channels * expand_ratio)


def se_channels(mid: int, se_ratio: float) -> int:
  """The squeeze-and-excite's reduced width."""
  return make_divisible(mid * se_ratio)


@dataclasses.dataclass(frozen=True)
class V3Block:
  """One inverted-residual block, or `zero` (skipped: its input passes through)."""

  filters: int
  stride: int = 1
  kernel_size: int = 3
  expand_ratio: float = 6
  se: bool = False
  activation: str = "relu"
  zero: bool = False

  @property
  def is_zero(self) -> bool:
    return self.zero

  def to_dict(self) -> dict[str, Any]:
    if self.zero:
      return {"type": "zero", "filters": self.filters, "stride": self.stride}
    return {"filters": self.filters, "stride": self.stride, "kernel_size": self.kernel_size,
            "expand_ratio": self.expand_ratio, "se": self.se, "activation": self.activation}


def has_residual(in_channels: int, block: V3Block) -> bool:
  return block.stride == 1 and in_channels == block.filters


@dataclasses.dataclass(frozen=True)
class V3NetConfig(NetConfigMethods):
  blocks: tuple[V3Block, ...]
  name: str = "mobilenet_v3"
  input_size: int = 224
  input_channels: int = 3
  num_classes: int = 1000
  stem_filters: int = 16
  stem_stride: int = 2
  head_filters: int = 960  # the 1x1 conv before the pool
  feature_filters: int = 1280  # the pooled feature layer before the classifier
  se_ratio: float = 0.25
  dropout: float = 0.0
  bn_momentum: float = 0.99
  bn_epsilon: float = 1e-3
  family: str = dataclasses.field(default=FAMILY, init=False)

  stem_kernel_size = 3  # fixed by the family
  padding = "same"  # TensorFlow's rule, as the Keras MobileNetV3

  def __post_init__(self):
    object.__setattr__(self, "blocks", tuple(self.blocks))
    validate(self)

  def to_dict(self) -> dict[str, Any]:
    return {"family": FAMILY, "name": self.name, "input_size": self.input_size,
            "input_channels": self.input_channels, "num_classes": self.num_classes,
            "stem": {"filters": self.stem_filters, "stride": self.stem_stride},
            "blocks": [b.to_dict() for b in self.blocks], "head_filters": self.head_filters,
            "feature_filters": self.feature_filters, "se_ratio": self.se_ratio,
            "dropout": self.dropout, "bn": {"momentum": self.bn_momentum,
                                            "epsilon": self.bn_epsilon}}

  def with_width(self, multiplier: float) -> "V3NetConfig":
    if multiplier == 1.0:
      return self
    if not multiplier > 0:
      raise ArchConfigError(f"--width_mult must be > 0, got {multiplier}")
    scale = lambda c: make_divisible(c * multiplier)  # noqa: E731
    return self.replace(stem_filters=scale(self.stem_filters),
                        blocks=tuple(dataclasses.replace(b, filters=scale(b.filters))
                                     for b in self.blocks),
                        head_filters=scale(self.head_filters))


def validate(config: V3NetConfig) -> None:
  if not isinstance(config.name, str) or not NAME_PATTERN.fullmatch(config.name):
    raise ArchConfigError(f"config: 'name' must be 1-128 letters, digits, '_', '.' or '-' "
                          f"(a file name), got {config.name!r}")
  _check_int("config", "input_size", config.input_size, 8, 4096)
  _check_int("config", "input_channels", config.input_channels, 1, 64)
  _check_int("config", "num_classes", config.num_classes, 2, 100_000)
  _check_int("config stem", "filters", config.stem_filters, 1, 4096)
  _check_int("config stem", "stride", config.stem_stride, 1, 2)
  _check_int("config", "head_filters", config.head_filters, 1, 8192)
  _check_int("config", "feature_filters", config.feature_filters, 1, 8192)
  _check_float("config", "se_ratio", config.se_ratio, 0.0, 1.0, high_open=False, low_open=True)
  _check_float("config", "dropout", config.dropout, 0.0, 1.0)
  _check_float("config bn", "momentum", config.bn_momentum, 0.0, 1.0,
               hint=" (Keras convention: weight of the old statistics)")
  _check_float("config bn", "epsilon", config.bn_epsilon, 0.0, 1.0, low_open=True)
  if not config.blocks or len(config.blocks) > MAX_BLOCKS:
    raise ArchConfigError(f"config: 'blocks' must list 1 to {MAX_BLOCKS} blocks, "
                          f"got {len(config.blocks)}")
  for i, block in enumerate(config.blocks):
    _check_int(f"block {i}", "filters", block.filters, 1, 8192)
    _check_int(f"block {i}", "stride", block.stride, 1, 2)
  params, largest = 0, config.input_size ** 2 * config.input_channels
  for i, ((res, channels), block) in enumerate(zip(config.block_inputs(), config.blocks)):
    where = f"block {i}"
    if block.zero:
      if not has_residual(channels, block):
        raise ArchConfigError(f"{where}: a 'zero' block must keep its input's shape (stride 1 "
                              f"and {channels} filters), got stride {block.stride} and "
                              f"{block.filters} filters")
      continue
    _check_kernel(where, block.kernel_size)
    _check_float(where, "expand_ratio", block.expand_ratio, 1.0, MAX_EXPAND, high_open=False)
    if not isinstance(block.se, bool):
      raise ArchConfigError(f"{where}: 'se' must be true or false, got {block.se!r}")
    if block.activation not in ACTIVATIONS:
      raise ArchConfigError(f"{where}: 'activation' must be one of {', '.join(ACTIVATIONS)}, "
                            f"got {block.activation!r}")
    mid = expanded_channels(channels, block.expand_ratio)
    params += channels * mid + block.kernel_size ** 2 * mid + mid * block.filters
    largest = max(largest, res * res * mid)
  params += config.blocks[-1].filters * config.head_filters \
      + config.head_filters * config.feature_filters + config.feature_filters * config.num_classes
  if params > MAX_PARAMS:
    raise ArchConfigError(f"config: the net has ~{params:.2e} parameters, more than a TFLite file "
                          f"can hold ({MAX_PARAMS:.2e} float32); reduce widths or classes")
  if largest > MAX_ACTIVATION:
    raise ArchConfigError(f"config: the net's largest activation has ~{largest:.2e} values "
                          f"(> {MAX_ACTIVATION:.2e}): no device runs it; reduce input_size or "
                          "widths")


# -- reading ---------------------------------------------------------------------------------------

def is_v3_dict(data: Any) -> bool:
  return isinstance(data, dict) and data.get("family") == FAMILY


def _object(where: str, value: Any, keys: tuple) -> dict:
  if not isinstance(value, dict):
    raise ArchConfigError(f"{where} must be a JSON object, got {type(value).__name__}")
  unknown = sorted(set(value) - set(keys))
  if unknown:
    raise ArchConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(keys)}")
  return value


def _number(where: str, field: str, value: Any) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
    raise ArchConfigError(f"{where}: '{field}' must be a number, got {value!r}")
  return value


def _block_from_dict(i: int, data: Any) -> V3Block:
  where = f"block {i}"
  data = _object(where, data, _BLOCK_KEYS)
  kind = data.get("type", "mbconv_v3")
  if kind not in ("mbconv_v3", "zero"):
    raise ArchConfigError(f"{where}: 'type' must be 'mbconv_v3' or 'zero', got {kind!r}")
  if "filters" not in data:
    raise ArchConfigError(f"{where}: 'filters' is required")
  if kind == "zero":
    return V3Block(filters=data["filters"], stride=data.get("stride", 1), zero=True)
  return V3Block(filters=data["filters"], stride=data.get("stride", 1),
                 kernel_size=data.get("kernel_size", 3),
                 expand_ratio=_number(where, "expand_ratio", data.get("expand_ratio", 6)),
                 se=data.get("se", False), activation=data.get("activation", "relu"))


def v3_from_dict(data: Any) -> V3NetConfig:
  data = _object("config", data, _TOP_KEYS)
  blocks = data.get("blocks")
  if not isinstance(blocks, list):
    raise ArchConfigError("config: 'blocks' must be a list of block objects")
  if len(blocks) > MAX_BLOCKS:
    raise ArchConfigError(f"config: {len(blocks)} blocks, at most {MAX_BLOCKS}")
  stem = _object("config stem", data.get("stem", {}), ("filters", "stride"))
  bn = _object("config bn", data.get("bn", {}), ("momentum", "epsilon"))
  defaults = V3NetConfig.__dataclass_fields__
  fields = {key: data[key] for key in ("name", "input_size", "input_channels", "num_classes",
                                       "head_filters", "feature_filters", "se_ratio", "dropout")
            if key in data}
  return V3NetConfig(
      blocks=tuple(_block_from_dict(i, b) for i, b in enumerate(blocks)),
      stem_filters=stem.get("filters", defaults["stem_filters"].default),
      stem_stride=stem.get("stride", defaults["stem_stride"].default),
      bn_momentum=bn.get("momentum", defaults["bn_momentum"].default),
      bn_epsilon=bn.get("epsilon", defaults["bn_epsilon"].default), **fields)
