"""Export-time rewrite for XNNPACK: depthwise convs with more than 25 taps run as <= 25-tap pieces.

XNNPACK (LiteRT's default CPU backend, on x86 and on ARM phones) runs a depthwise conv in one
pass only when its kh*kw taps fit its largest microkernel tile, 25 taps (google/XNNPACK
`src/configs/dwconv-config.c`). A 7x7 kernel falls back to a per-channel GEMM path that costs
~8x more per MAC: the k7 blocks of proxyless_mobile took over half its float time here. The
rewritten model computes exactly the same function (each large depthwise conv becomes the sum of
row pieces on a padded input, its BN folded in; `SplitDepthwiseConv2D`), so the export's numeric
check covers it. Turn it off for backends that are not XNNPACK (GPU, NNAPI) where it only adds ops.
"""

from __future__ import annotations

import keras

XNNPACK_MAX_TAPS = 25


def _split_targets(model: keras.Model, max_taps: int) -> set[str]:
  """The layers that declare a depthwise kernel over `max_taps` taps (`needs_depthwise_split`:
  MBConv blocks, a tree family's separable edges and the blocks holding them)."""
  return {layer.name for layer in model.layers
          if getattr(layer, "needs_depthwise_split", None) is not None
          and layer.needs_depthwise_split(max_taps)}


def _copy_by_path(source: keras.layers.Layer, target: keras.layers.Layer) -> None:
  """Each variable of `target` from the `source` variable of the same path (a tree edge's split
  depthwise keeps its kernel's path; its bias, new, stays zero: the edge's depthwise has none)."""
  weights = {v.path: v for v in source.weights}
  for v in target.weights:
    if v.path in weights:
      v.assign(weights[v.path])
    elif not v.path.endswith("depthwise/bias"):
      raise ValueError(f"no source weight for {v.path}")


def split_large_depthwise(model: keras.Model, max_taps: int = XNNPACK_MAX_TAPS) -> keras.Model:
  """`model` (functional, built by `build_model`, of layers that declare their splits) with every
  depthwise kernel of more than `max_taps` taps in its split form (MBConv: BN folded in; a tree
  edge's separable op: its kernel as is, as it has no BN after it); the model itself when there
  is none. For inference and export only (the split MBConv blocks have no BN to train)."""
  targets = _split_targets(model, max_taps)
  if not targets:
    return model
  config = model.get_config()
  for layer in config["layers"]:
    if layer["config"].get("name") in targets:
      layer["config"]["depthwise_max_taps"] = max_taps
  rewritten = model.__class__.from_config(config)
  for source, target in zip(model.layers, rewritten.layers):
    if source.name in targets and hasattr(source, "copy_weights_to_split"):
      source.copy_weights_to_split(target)  # e.g. an MBConv folds its BN into the pieces
    elif source.name in targets:
      _copy_by_path(source, target)
    else:
      target.set_weights(source.get_weights())
  return rewritten
