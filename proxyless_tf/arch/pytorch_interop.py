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

from proxyless_tf.arch.config import ArchConfig, ArchConfigError, Block, ZERO

NETWORK_NAME = "ProxylessNASNets"


def is_pytorch_config(data: Any) -> bool:
  return isinstance(data, dict) and (data.get("name") == NETWORK_NAME or "first_conv" in data)


def _get(data: Any, where: str, key: str) -> Any:
  if not isinstance(data, dict) or key not in data:
    raise ArchConfigError(f"net.config {where}: missing '{key}'")
  return data[key]


def _scalar(value: Any) -> Any:
  """PyTorch configs may give kernel/stride as [h, w]; only square ones are supported here."""
  if isinstance(value, (list, tuple)):
    if len(set(value)) != 1:
      raise ArchConfigError(f"net.config: non-square kernel/stride {value} is not supported")
    return value[0]
  return value


def from_pytorch_config(data: dict, input_size: int = 224, name: str | None = None) -> ArchConfig:
  if not isinstance(data, dict):
    raise ArchConfigError("net.config: expected a JSON object")
  if data.get("name", NETWORK_NAME) != NETWORK_NAME:
    raise ArchConfigError(f"net.config: name is {data.get('name')!r}, expected {NETWORK_NAME!r}")
  first = _get(data, "top level", "first_conv")
  bn = data.get("bn", {"momentum": 0.1, "eps": 1e-3})
  blocks = []
  channels = _get(first, "first_conv", "out_channels")
  for i, entry in enumerate(_get(data, "top level", "blocks")):
    conv = _get(entry, f"block {i}", "mobile_inverted_conv")
    kind = _get(conv, f"block {i} mobile_inverted_conv", "name")
    if kind == "ZeroLayer":
      blocks.append(Block(filters=channels, stride=_scalar(conv.get("stride", 1)), type=ZERO))
    elif kind == "MBInvertedConvLayer":
      if conv.get("in_channels", channels) != channels:
        raise ArchConfigError(f"net.config block {i}: in_channels {conv['in_channels']} does not "
                              f"match the previous block's output {channels}")
      out = _get(conv, f"block {i} mobile_inverted_conv", "out_channels")
      blocks.append(Block(filters=out, stride=_scalar(conv.get("stride", 1)),
                          kernel_size=_scalar(_get(conv, f"block {i}", "kernel_size")),
                          expand_ratio=_get(conv, f"block {i}", "expand_ratio")))
      channels = out
    else:
      raise ArchConfigError(f"net.config block {i}: unsupported layer {kind!r} "
                            "(expected MBInvertedConvLayer or ZeroLayer)")
  mix = _get(data, "top level", "feature_mix_layer")
  classifier = _get(data, "top level", "classifier")
  return ArchConfig(
      name=name or data.get("name", NETWORK_NAME),
      blocks=tuple(blocks), input_size=input_size,
      input_channels=first.get("in_channels", 3),
      num_classes=_get(classifier, "classifier", "out_features"),
      stem_filters=first["out_channels"],
      stem_kernel_size=_scalar(first.get("kernel_size", 3)),
      stem_stride=_scalar(first.get("stride", 2)),
      head_filters=_get(mix, "feature_mix_layer", "out_channels"),
      dropout=float(classifier.get("dropout_rate", 0.0)),
      bn_momentum=1.0 - float(bn.get("momentum", 0.1)),
      bn_epsilon=float(bn.get("eps", 1e-3)), padding="symmetric")


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
