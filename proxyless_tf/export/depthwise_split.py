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
import numpy as np

from proxyless_tf.model.layers import MBConv

XNNPACK_MAX_TAPS = 25


def _split_targets(model: keras.Model, max_taps: int) -> set[str]:
  return {layer.name for layer in model.layers
          if isinstance(layer, MBConv) and layer.kernel_size ** 2 > max_taps}


def _fold_depthwise(source: MBConv) -> list[np.ndarray]:
  """The depthwise kernel and BN of `source` as one (kernel, bias) pair."""
  gamma, beta, mean, var = (np.asarray(w) for w in source.depthwise_bn.get_weights())
  scale = gamma / np.sqrt(var + source.depthwise_bn.epsilon)
  kernel = np.asarray(source.depthwise.get_weights()[0]) * scale[None, None, :, None]
  return [kernel.astype(np.float32), (beta - mean * scale).astype(np.float32)]


def _copy_mbconv(source: MBConv, target: MBConv) -> None:
  for name in ("expand_conv", "expand_bn", "project", "project_bn"):
    if getattr(source, name) is not None:
      getattr(target, name).set_weights(getattr(source, name).get_weights())
  target.depthwise.set_weights(_fold_depthwise(source))


def split_large_depthwise(model: keras.Model, max_taps: int = XNNPACK_MAX_TAPS) -> keras.Model:
  """`model` (functional, built by `build_model` or of MBConv layers) with every MBConv whose
  depthwise kernel has more than `max_taps` taps in its split, BN-folded form; the model itself
  when there is none. For inference and export only (the split blocks have no BN to train)."""
  targets = _split_targets(model, max_taps)
  if not targets:
    return model
  config = model.get_config()
  for layer in config["layers"]:
    if layer["config"].get("name") in targets:
      layer["config"]["depthwise_max_taps"] = max_taps
  rewritten = model.__class__.from_config(config)
  for source, target in zip(model.layers, rewritten.layers):
    if source.name in targets:
      _copy_mbconv(source, target)
    else:
      target.set_weights(source.get_weights())
  return rewritten
