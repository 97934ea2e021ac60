"""The MBConv family's net config: a stem, inverted-residual blocks (or `zero`), a 1x1 head conv
and a classifier. Plain data (dataclasses <-> JSON): the search writes one, the builder reads one,
and the latency model keys its tables by the same block fields. Every refusal is one line.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from proxyless_tf.arch.config import (MAX_ACTIVATION, MAX_BLOCKS, MAX_CLASSES, MAX_EXPAND,
                                      MAX_FILTERS, MAX_INPUT_CHANNELS, MAX_INPUT_SIZE, MAX_PARAMS,
                                      NAME_PATTERN, ArchConfigError, NetConfigMethods,
                                      _check_float, _check_int, _check_kernel, conv_output_size,
                                      make_divisible)

MBCONV = "mbconv"
ZERO = "zero"
BLOCK_TYPES = (MBCONV, ZERO)
# the kinds of the family's latency-table ops (`ops.py` keys them)
MBCONV_OP_KINDS = ("Conv", "expanded_conv", "Conv_1", "Logits")


@dataclasses.dataclass(frozen=True)
class Block:
  """One inverted-residual block, or `zero`: the block is skipped and its input passes through."""

  filters: int
  stride: int = 1
  kernel_size: int = 3
  expand_ratio: int = 6
  type: str = MBCONV

  @property
  def is_zero(self) -> bool:
    return self.type == ZERO

  def to_dict(self) -> dict[str, Any]:
    if self.is_zero:
      return {"type": ZERO, "filters": self.filters, "stride": self.stride}
    return {"type": MBCONV, "filters": self.filters, "stride": self.stride,
            "kernel_size": self.kernel_size, "expand_ratio": self.expand_ratio}


@dataclasses.dataclass(frozen=True)
class ArchConfig(NetConfigMethods):
  """A whole network: stem conv (3x3, stride 2) -> blocks -> 1x1 head -> pool -> dropout -> dense."""

  blocks: tuple[Block, ...]
  input_size: int = 224
  input_channels: int = 3
  num_classes: int = 1000
  stem_filters: int = 32
  stem_kernel_size: int = 3
  stem_stride: int = 2
  head_filters: int = 1280
  dropout: float = 0.0
  bn_momentum: float = 0.9
  bn_epsilon: float = 1e-3
  name: str = "net"
  # "same" (TensorFlow's rule) or "symmetric" (k // 2 zeros on both sides of strided convs, as
  # PyTorch): the function differs on strided convs over even inputs, so weights trained under one
  # convention compute the same outputs only under it. See `proxyless_tf.model.layers`.
  padding: str = "same"

  def __post_init__(self):
    object.__setattr__(self, "blocks", tuple(self.blocks))
    validate(self)

  def to_dict(self) -> dict[str, Any]:
    return {
        "name": self.name,
        "input_size": self.input_size,
        "input_channels": self.input_channels,
        "num_classes": self.num_classes,
        "stem": {"filters": self.stem_filters, "kernel_size": self.stem_kernel_size,
                 "stride": self.stem_stride},
        "blocks": [b.to_dict() for b in self.blocks],
        "head": {"filters": self.head_filters},
        "dropout": self.dropout,
        "bn": {"momentum": self.bn_momentum, "epsilon": self.bn_epsilon},
        "padding": self.padding,
    }

  def with_width(self, multiplier: float) -> "ArchConfig":
    """Scales stem and blocks (and the head only when widening), MobileNet-style rounding."""
    if multiplier <= 0:
      raise ArchConfigError(f"width multiplier must be > 0, got {multiplier}")
    if multiplier == 1.0:
      return self
    blocks = tuple(dataclasses.replace(b, filters=make_divisible(b.filters * multiplier))
                   for b in self.blocks)
    head = make_divisible(self.head_filters * multiplier) if multiplier > 1.0 else self.head_filters
    return self.replace(stem_filters=make_divisible(self.stem_filters * multiplier),
                        blocks=blocks, head_filters=head)


def has_residual(in_channels: int, block: Block) -> bool:
  return block.stride == 1 and in_channels == block.filters


# What a config may hold: a net a real device can run (and a TFLite file, at most 2 GB, can hold).
def _size_checks(config: "ArchConfig") -> None:
  """Parameters and the largest activation of the whole net, against what a device can hold."""
  res = conv_output_size(config.input_size, config.stem_stride)
  channels = config.stem_filters
  params = config.stem_kernel_size ** 2 * config.input_channels * channels
  largest = max(config.input_size ** 2 * config.input_channels, res * res * channels)
  for block in config.blocks:
    if not block.is_zero:
      mid = channels * block.expand_ratio
      params += (channels * mid if block.expand_ratio != 1 else 0) \
          + block.kernel_size ** 2 * mid + mid * block.filters
      largest = max(largest, res * res * mid)
    res = conv_output_size(res, block.stride)
    channels = block.filters
  params += channels * config.head_filters + config.head_filters * config.num_classes
  largest = max(largest, res * res * config.head_filters)
  if params > MAX_PARAMS:
    raise ArchConfigError(f"config: the net has ~{params:.2e} parameters, more than a TFLite file "
                          f"can hold ({MAX_PARAMS:.2e} float32); reduce widths or classes")
  if largest > MAX_ACTIVATION:
    raise ArchConfigError(f"config: the net's largest activation has ~{largest:.2e} values "
                          f"(> {MAX_ACTIVATION:.2e}, 1 GiB float32): no device runs it; reduce "
                          "input_size or widths")


def validate(config: ArchConfig) -> None:
  """Raises ArchConfigError naming the first bad field and what would be accepted."""
  if not isinstance(config.name, str) or not NAME_PATTERN.fullmatch(config.name):
    raise ArchConfigError(f"config: 'name' must be 1-128 letters, digits, '_', '.' or '-' "
                          f"(starting with a letter or digit), got {config.name!r}")
  _check_int("config", "input_size", config.input_size, 1, MAX_INPUT_SIZE)
  _check_int("config", "input_channels", config.input_channels, 1, MAX_INPUT_CHANNELS)
  _check_int("config", "num_classes", config.num_classes, 1, MAX_CLASSES)
  _check_int("stem", "filters", config.stem_filters, 1, MAX_FILTERS)
  _check_kernel("stem", config.stem_kernel_size)
  if config.stem_stride not in (1, 2) or isinstance(config.stem_stride, bool):
    raise ArchConfigError(f"stem: 'stride' must be 1 or 2, got {config.stem_stride!r}")
  _check_int("head", "filters", config.head_filters, 1, MAX_FILTERS)
  _check_float("config", "dropout", config.dropout, 0.0, 1.0)
  _check_float("bn", "momentum", config.bn_momentum, 0.0, 1.0,
               hint=" (Keras convention: weight of the old statistics)")
  _check_float("bn", "epsilon", config.bn_epsilon, 0.0, 1.0, high_open=False, low_open=True)
  if config.padding not in PADDINGS:
    raise ArchConfigError(f"config: 'padding' must be one of {list(PADDINGS)} (\"symmetric\" = "
                          f"PyTorch's k // 2 on both sides), got {config.padding!r}")
  if not config.blocks:
    raise ArchConfigError("config: 'blocks' is empty; a network needs at least one block")
  if len(config.blocks) > MAX_BLOCKS:
    raise ArchConfigError(f"config: {len(config.blocks)} blocks, at most {MAX_BLOCKS}")
  channels = config.stem_filters
  for i, block in enumerate(config.blocks):
    where = f"block {i}"
    if not isinstance(block, Block):
      raise ArchConfigError(f"{where}: expected a Block, got {type(block).__name__}")
    if not isinstance(block.type, str) or block.type not in BLOCK_TYPES:
      raise ArchConfigError(f"{where}: 'type' must be one of {list(BLOCK_TYPES)}, got {block.type!r}")
    _check_int(where, "filters", block.filters, 1, MAX_FILTERS)
    if block.stride not in (1, 2) or isinstance(block.stride, bool):
      raise ArchConfigError(f"{where}: 'stride' must be 1 or 2, got {block.stride!r}")
    if block.is_zero:
      if not has_residual(channels, block):
        raise ArchConfigError(
            f"{where}: 'zero' is only legal where a residual is possible (stride 1 and in == out "
            f"channels), here stride={block.stride}, in={channels}, out={block.filters}")
    else:
      _check_kernel(where, block.kernel_size)
      _check_int(where, "expand_ratio", block.expand_ratio, 1, MAX_EXPAND)
    channels = block.filters
  if config.input_size < config.stem_stride:
    raise ArchConfigError(f"config: 'input_size' {config.input_size} is smaller than the stem stride")
  _size_checks(config)


_TOP_KEYS = {"name", "input_size", "input_channels", "num_classes", "stem", "blocks", "head",
             "dropout", "bn", "padding"}
PADDINGS = ("same", "symmetric")
_STEM_KEYS = {"filters", "kernel_size", "stride"}
_HEAD_KEYS = {"filters"}
_BN_KEYS = {"momentum", "epsilon"}
_BLOCK_KEYS = {"type", "filters", "stride", "kernel_size", "expand_ratio"}


def _block_from_dict(i: int, data: Any) -> Block:
  if not isinstance(data, dict):
    raise ArchConfigError(f"block {i}: expected an object, got {type(data).__name__}")
  unknown = set(data) - _BLOCK_KEYS
  if unknown:
    raise ArchConfigError(f"block {i}: unknown field(s) {sorted(map(str, unknown))}; allowed: "
                          f"{sorted(_BLOCK_KEYS)}")
  block_type = data.get("type", MBCONV)
  if not isinstance(block_type, str) or block_type not in BLOCK_TYPES:
    raise ArchConfigError(f"block {i}: 'type' must be one of {list(BLOCK_TYPES)}, got "
                          f"{block_type!r:.40}")
  if block_type == ZERO and ({"kernel_size", "expand_ratio"} & set(data)):
    raise ArchConfigError(f"block {i}: a 'zero' block is skipped and has no kernel_size or "
                          "expand_ratio; remove them")
  for field in ("filters",) + (("kernel_size", "expand_ratio") if block_type == MBCONV else ()):
    if field not in data:
      raise ArchConfigError(f"block {i}: missing field '{field}'")
  if block_type == ZERO:
    return Block(filters=data["filters"], stride=data.get("stride", 1), type=ZERO)
  return Block(filters=data["filters"], stride=data.get("stride", 1),
               kernel_size=data["kernel_size"], expand_ratio=data["expand_ratio"], type=block_type)


def from_dict(data: Any) -> ArchConfig:
  if not isinstance(data, dict):
    raise ArchConfigError(f"config: expected a JSON object, got {type(data).__name__}")
  unknown = set(data) - _TOP_KEYS
  if unknown:
    raise ArchConfigError(f"config: unknown field(s) {sorted(map(str, unknown))}; allowed: "
                          f"{sorted(_TOP_KEYS)}")
  if "blocks" not in data or not isinstance(data["blocks"], list):
    raise ArchConfigError("config: 'blocks' must be a list of block objects")
  if len(data["blocks"]) > MAX_BLOCKS:
    raise ArchConfigError(f"config: {len(data['blocks'])} blocks, at most {MAX_BLOCKS}")
  blocks = tuple(_block_from_dict(i, b) for i, b in enumerate(data["blocks"]))
  stem = data.get("stem", {})
  head = data.get("head", {})
  bn = data.get("bn", {})
  for section, value, allowed in (("stem", stem, _STEM_KEYS), ("head", head, _HEAD_KEYS),
                                 ("bn", bn, _BN_KEYS)):
    if not isinstance(value, dict):
      raise ArchConfigError(f"{section}: expected an object, got {type(value).__name__}")
    unknown = set(value) - allowed
    if unknown:
      raise ArchConfigError(f"{section}: unknown field(s) {sorted(map(str, unknown))}; allowed: "
                            f"{sorted(allowed)}")
  defaults = ArchConfig.__dataclass_fields__
  return ArchConfig(
      blocks=blocks,
      name=data.get("name", defaults["name"].default),
      input_size=data.get("input_size", defaults["input_size"].default),
      input_channels=data.get("input_channels", defaults["input_channels"].default),
      num_classes=data.get("num_classes", defaults["num_classes"].default),
      stem_filters=stem.get("filters", defaults["stem_filters"].default),
      stem_kernel_size=stem.get("kernel_size", defaults["stem_kernel_size"].default),
      stem_stride=stem.get("stride", defaults["stem_stride"].default),
      head_filters=head.get("filters", defaults["head_filters"].default),
      dropout=data.get("dropout", defaults["dropout"].default),
      bn_momentum=bn.get("momentum", defaults["bn_momentum"].default),
      bn_epsilon=bn.get("epsilon", defaults["bn_epsilon"].default),
      padding=data.get("padding", defaults["padding"].default),
  )


def from_json(text: str | bytes, source: str = "config") -> ArchConfig:
  from proxyless_tf.utils.json_input import parse_json
  return from_dict(parse_json(text, source, ArchConfigError))
