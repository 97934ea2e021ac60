"""The MBConv family's PyTorch tensor names: the original ProxylessNAS code's and pytorchcv's
(see `model/pytorch_weights.py`, which loads them)."""

from __future__ import annotations

import re

from proxyless_tf.errors import UserError
from proxyless_tf.model.pytorch_weights import bn_tensors


def mbconv_scheme(state: dict) -> str | None:
  if any(k.startswith("first_conv.") for k in state):
    return "original"
  if any(k.startswith("features.init_block.") for k in state):
    return "pytorchcv"
  return None


def _unit_prefixes(state: dict) -> list[str]:
  """pytorchcv's `features.stageS.unitU` prefixes in network order."""
  found = {(int(m[1]), int(m[2])) for k in state
           if (m := re.match(r"features\.stage(\d+)\.unit(\d+)\.", k))}
  return [f"features.stage{s}.unit{u}" for s, u in sorted(found)]


def _layer_names(config, scheme: str, state: dict):
  """(keras layer name, part, torch prefix): part is a sub-layer of an MBConv or None."""
  if scheme == "original":
    yield "stem", None, "first_conv"
    for i, block in enumerate(config.blocks):
      if block.is_zero:
        continue
      base = f"blocks.{i}.mobile_inverted_conv"
      if block.expand_ratio != 1:
        yield f"block_{i}", "expand", f"{base}.inverted_bottleneck"
      yield f"block_{i}", "depthwise", f"{base}.depth_conv"
      yield f"block_{i}", "project", f"{base}.point_linear"
    yield "head", None, "feature_mix_layer"
    yield "classifier", None, "classifier.linear"
    return
  units = _unit_prefixes(state)
  real = [i for i, b in enumerate(config.blocks) if not b.is_zero]
  if len(units) != len(real):
    raise UserError(f"the checkpoint has {len(units)} blocks (pytorchcv units), arch "
                    f"'{config.name}' has {len(real)} that are not skipped: not the same network")
  yield "stem", None, "features.init_block"
  for i, unit in zip(real, units):
    if config.blocks[i].expand_ratio != 1:
      yield f"block_{i}", "expand", f"{unit}.body.bc_conv"
    yield f"block_{i}", "depthwise", f"{unit}.body.dw_conv"
    yield f"block_{i}", "project", f"{unit}.body.pw_conv"
  yield "head", None, "features.final_block"
  yield "classifier", None, "output"


def mbconv_tensors(model, config, state: dict, scheme: str):
  """(torch name, Keras variable, layout, where) of every weight of an MBConv net."""
  for layer_name, part, prefix in _layer_names(config, scheme, state):
    layer = model.get_layer(layer_name)
    where = layer_name if part is None else f"{layer_name} {part}"
    if layer_name == "classifier":
      yield f"{prefix}.weight", layer.kernel, "dense", where
      yield f"{prefix}.bias", layer.bias, "bias", where
      continue
    if part is None:
      conv, bn, kind = layer.conv, layer.bn, "conv"
    else:
      conv, kind = {"expand": (layer.expand_conv, "conv"), "project": (layer.project, "conv"),
                    "depthwise": (layer.depthwise, "depthwise")}[part]
      bn = {"expand": layer.expand_bn, "project": layer.project_bn,
            "depthwise": layer.depthwise_bn}[part]
    yield f"{prefix}.conv.weight", conv.kernel, kind, where
    yield from bn_tensors(f"{prefix}.bn", bn, where)


