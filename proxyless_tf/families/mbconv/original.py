"""Reads and writes the original PyTorch code's `net.config` (name `ProxylessNASNets`).

Lets users bring architectures found with the PyTorch tools and get TFLite out. The PyTorch BN
momentum is the weight of the *new* batch statistics, so Keras momentum = 1 - PyTorch momentum.
`net.config` has no input size; it defaults to 224 and can be overridden by the caller.
PyTorch pads every conv by k // 2 on both sides, so configs read from here are
`padding="symmetric"` (the only way the original weights compute the same function); writing
drops the field, which `net.config` cannot hold.
"""

from __future__ import annotations

from typing import Any

from proxyless_tf.arch.config import ArchConfigError
from proxyless_tf.families.mbconv.config import ArchConfig, Block, ZERO

NETWORK_NAME = "ProxylessNASNets"


def is_pytorch_config(data: Any) -> bool:
  return isinstance(data, dict) and (data.get("name") == NETWORK_NAME or "first_conv" in data)


def _get(data: Any, where: str, key: str, kind: type | tuple = object, default: Any = None,
         required: bool = True) -> Any:
  """`data[key]` checked to be of `kind` (a missing optional key gives `default`)."""
  if not isinstance(data, dict):
    raise ArchConfigError(f"net.config {where}: expected an object, got {type(data).__name__}")
  if key not in data:
    if required:
      raise ArchConfigError(f"net.config {where}: missing '{key}'")
    return default
  value = data[key]
  if kind is not object and (not isinstance(value, kind) or isinstance(value, bool) and
                             kind in (int, float, (int, float))):
    names = {int: "an integer", float: "a number", (int, float): "a number", dict: "an object",
             list: "a list", str: "a string", (int, list): "an integer or [h, w]"}
    raise ArchConfigError(f"net.config {where}: '{key}' must be {names.get(kind, kind)}, "
                          f"got {value!r:.40}")
  return value


def _scalar(where: str, data: dict, key: str, default: Any = None) -> Any:
  """PyTorch configs may give kernel/stride as [h, w]; only square ones are supported here."""
  value = _get(data, where, key, (int, list), default, required=default is None)
  if isinstance(value, list):
    if len(value) != 2 or value[0] != value[1]:
      raise ArchConfigError(f"net.config {where}: non-square {key} {value!r:.40} is not supported")
    value = value[0]
  return value


def from_pytorch_config(data: dict, input_size: int = 224, name: str | None = None) -> ArchConfig:
  if not isinstance(data, dict):
    raise ArchConfigError("net.config: expected a JSON object")
  if data.get("name", NETWORK_NAME) != NETWORK_NAME:
    raise ArchConfigError(f"net.config: name is {data.get('name')!r:.40}, expected {NETWORK_NAME!r}")
  first = _get(data, "top level", "first_conv", dict)
  bn = _get(data, "top level", "bn", dict, {"momentum": 0.1, "eps": 1e-3}, required=False)
  momentum = _get(bn, "bn", "momentum", (int, float), 0.1, required=False)
  eps = _get(bn, "bn", "eps", (int, float), 1e-3, required=False)
  blocks = []
  channels = _get(first, "first_conv", "out_channels", int)
  for i, entry in enumerate(_get(data, "top level", "blocks", list)):
    where = f"block {i} mobile_inverted_conv"
    conv = _get(entry, f"block {i}", "mobile_inverted_conv", dict)
    kind = _get(conv, where, "name", str)
    stride = _scalar(where, conv, "stride", 1)
    if kind == "ZeroLayer":
      blocks.append(Block(filters=channels, stride=stride, type=ZERO))
    elif kind == "MBInvertedConvLayer":
      in_channels = _get(conv, where, "in_channels", int, channels, required=False)
      if in_channels != channels:
        raise ArchConfigError(f"net.config block {i}: in_channels {in_channels} does not "
                              f"match the previous block's output {channels}")
      out = _get(conv, where, "out_channels", int)
      blocks.append(Block(filters=out, stride=stride, kernel_size=_scalar(where, conv, "kernel_size"),
                          expand_ratio=_get(conv, where, "expand_ratio", int)))
      channels = out
    else:
      raise ArchConfigError(f"net.config block {i}: unsupported layer {kind!r:.40} "
                            "(expected MBInvertedConvLayer or ZeroLayer)")
  mix = _get(data, "top level", "feature_mix_layer", dict)
  classifier = _get(data, "top level", "classifier", dict)
  return ArchConfig(
      name=name or data.get("name", NETWORK_NAME),
      blocks=tuple(blocks), input_size=input_size,
      input_channels=_get(first, "first_conv", "in_channels", int, 3, required=False),
      num_classes=_get(classifier, "classifier", "out_features", int),
      stem_filters=first["out_channels"],
      stem_kernel_size=_scalar("first_conv", first, "kernel_size", 3),
      stem_stride=_scalar("first_conv", first, "stride", 2),
      head_filters=_get(mix, "feature_mix_layer", "out_channels", int),
      dropout=float(_get(classifier, "classifier", "dropout_rate", (int, float), 0.0,
                         required=False)),
      bn_momentum=1.0 - float(momentum), bn_epsilon=float(eps), padding="symmetric")


def _conv_layer(in_ch: int, out_ch: int, kernel: int, stride: int) -> dict:
  return {"name": "ConvLayer", "kernel_size": kernel, "stride": stride, "dilation": 1,
          "groups": 1, "bias": False, "has_shuffle": False, "in_channels": in_ch,
          "out_channels": out_ch, "use_bn": True, "act_func": "relu6", "dropout_rate": 0,
          "ops_order": "weight_bn_act"}


def to_pytorch_config(config: ArchConfig) -> dict:
  blocks = []
  for block, (_, in_ch) in zip(config.blocks, config.block_inputs()):
    if block.is_zero:
      conv = {"name": "ZeroLayer", "stride": block.stride}
    else:
      conv = {"name": "MBInvertedConvLayer", "in_channels": in_ch, "out_channels": block.filters,
              "kernel_size": block.kernel_size, "stride": block.stride,
              "expand_ratio": block.expand_ratio}
    shortcut = None
    if block.stride == 1 and in_ch == block.filters:
      shortcut = {"name": "IdentityLayer", "in_channels": in_ch, "out_channels": in_ch,
                  "use_bn": False, "act_func": None, "dropout_rate": 0,
                  "ops_order": "weight_bn_act"}
    blocks.append({"name": "MobileInvertedResidualBlock", "mobile_inverted_conv": conv,
                   "shortcut": shortcut})
  return {
      "name": NETWORK_NAME,
      "bn": {"momentum": round(1.0 - config.bn_momentum, 10), "eps": config.bn_epsilon},
      "first_conv": _conv_layer(config.input_channels, config.stem_filters,
                                config.stem_kernel_size, config.stem_stride),
      "blocks": blocks,
      "feature_mix_layer": _conv_layer(config.blocks[-1].filters, config.head_filters, 1, 1),
      "classifier": {"name": "LinearLayer", "in_features": config.head_filters,
                     "out_features": config.num_classes, "bias": True, "use_bn": False,
                     "act_func": None, "dropout_rate": config.dropout,
                     "ops_order": "weight_bn_act"},
  }
