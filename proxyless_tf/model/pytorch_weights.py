"""PyTorch weights -> a Keras model of the same architecture, by the naming scheme a family reads
(`Family.pytorch_scheme` / `pytorch_tensors`, in their folders under `families/`). The MBConv
family's (`families/mbconv/weights.py`):
  original   (mit-han-lab/proxylessnas `ProxylessNASNets`): `first_conv.{conv,bn}`,
             `blocks.N.mobile_inverted_conv.{inverted_bottleneck,depth_conv,point_linear}.{conv,bn}`
             with N counting skipped (zero) blocks too, `feature_mix_layer.{conv,bn}`,
             `classifier.linear`;
  pytorchcv  (`proxylessnas_*`): `features.init_block.{conv,bn}`,
             `features.stageS.unitU.body.{bc_conv,dw_conv,pw_conv}.{conv,bn}` for the blocks that
             are not skipped, in order, `features.final_block.{conv,bn}`, `output`.
Layouts: conv OIHW -> HWIO, depthwise (C, 1, H, W) -> (H, W, C, 1), linear (out, in) -> (in, out).
PyTorch pads k // 2 on both sides, so the arch must be `padding="symmetric"` to compute the same
function; `load_pytorch_weights` refuses "same" unless told otherwise.
"""

from __future__ import annotations

import re

import numpy as np

from proxyless_tf.errors import UserError

_BN = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
       ("moving_variance", "running_var"))
_IGNORED = re.compile(r".*num_batches_tracked$")


def detect_scheme(state: dict) -> str:
  """The naming scheme of a state dict, asked of every family (`Family.pytorch_scheme`)."""
  from proxyless_tf.families import families
  for family in families():
    scheme = family.pytorch_scheme(state)
    if scheme is not None:
      return scheme
  shown = ", ".join(list(state)[:3])
  raise UserError(f"unknown PyTorch naming (first tensors: {shown}); expected the original "
                  "ProxylessNAS code's (first_conv.*, blocks.N.*, or blocks.N.in_bottle.* for a "
                  "PyramidTreeNet) or pytorchcv's (features.init_block.*, features.stageS.unitU.*)")


def bn_tensors(prefix: str, bn, where: str):
  """(torch name, Keras variable, layout, where) of a BN's four tensors."""
  for keras_name, torch_name in _BN:
    yield f"{prefix}.{torch_name}", getattr(bn, keras_name), "bn", where


def _torch_layout(kind: str, array: np.ndarray) -> np.ndarray:
  if kind == "conv":
    return array.transpose(2, 3, 1, 0)
  if kind == "depthwise":
    return array.transpose(2, 3, 0, 1)
  if kind == "dense":
    return array.T
  return array


def _expected_torch_shape(kind: str, keras_shape: tuple) -> tuple:
  if kind == "conv":
    h, w, i, o = keras_shape
    return (o, i, h, w)
  if kind == "depthwise":
    h, w, c, _ = keras_shape
    return (c, 1, h, w)
  if kind == "dense":
    return tuple(reversed(keras_shape))
  return tuple(keras_shape)


def pytorch_assignments(model, config, state: dict, scheme: str | None = None):
  """[(keras variable, torch name, array in Keras layout)] for every weight of `model`, checked:
  a missing tensor, a wrong shape, or tensors left over are one UserError naming the tensor."""
  scheme = scheme or detect_scheme(state)
  out, used = [], set()

  def take(name, variable, kind, where):
    if name not in state:
      raise UserError(f"checkpoint has no tensor {name} (needed for {where} of arch "
                      f"'{config.name}'); is it the same network?")
    array = np.asarray(state[name])
    want = _expected_torch_shape(kind, tuple(variable.shape))
    if tuple(array.shape) != want:
      raise UserError(f"checkpoint tensor {name}: expected shape {want} for {where} of arch "
                      f"'{config.name}', got {tuple(array.shape)}")
    used.add(name)
    out.append((variable, name, _torch_layout(kind, array).astype(np.float32)))

  from proxyless_tf.families import family_of, families
  family = family_of(config)
  owner = next((f for f in families() if scheme in f.pytorch_schemes), None)
  if owner is None:
    raise UserError(f"unknown PyTorch naming scheme {scheme!r}; known: "
                    f"{', '.join(s for f in families() for s in f.pytorch_schemes)}")
  if owner is not family:
    raise UserError(f"the checkpoint is a {owner.name} net ({scheme} naming), arch "
                    f"'{config.name}' is a {family.name} net: not the same network")
  for name, variable, kind, where in family.pytorch_tensors(model, config, state, scheme):
    take(name, variable, kind, where)
  extra = sorted(k for k in state if k not in used and not _IGNORED.match(k))
  if extra:
    raise UserError(f"checkpoint has {len(extra)} tensor(s) arch '{config.name}' does not use "
                    f"(first: {extra[0]}); is it the same network?")
  return out


def load_pytorch_weights(model, config, state_or_path, allow_same_padding: bool = False) -> str:
  """Copies a PyTorch state dict (dict of arrays, or a checkpoint path) into `model`, built by
  `build_model(config)`. Returns the naming scheme found."""
  if config.padding != "symmetric" and not allow_same_padding:
    raise UserError(f"arch '{config.name}' has padding '{config.padding}', but PyTorch weights "
                    "compute their function only with padding 'symmetric' (set \"padding\": "
                    "\"symmetric\" in the arch JSON; net.config files and the published presets "
                    "have it)")
  if isinstance(state_or_path, str):
    from proxyless_tf.model.torch_checkpoint import read_state_dict
    state = read_state_dict(state_or_path)
  else:
    state = {k: np.asarray(v) for k, v in state_or_path.items()}
  scheme = detect_scheme(state)
  for variable, _, value in pytorch_assignments(model, config, state, scheme):
    variable.assign(value)
  return scheme
