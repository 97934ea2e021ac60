"""PyTorch weights -> a Keras model of the same architecture (original ProxylessNAS or pytorchcv).

Two naming schemes are known:
  original   (mit-han-lab/proxylessnas `ProxylessNASNets`): `first_conv.{conv,bn}`,
             `blocks.N.mobile_inverted_conv.{inverted_bottleneck,depth_conv,point_linear}.{conv,bn}`
             with N counting skipped (zero) blocks too, `feature_mix_layer.{conv,bn}`,
             `classifier.linear`;
  pytorchcv  (`proxylessnas_*`): `features.init_block.{conv,bn}`,
             `features.stageS.unitU.body.{bc_conv,dw_conv,pw_conv}.{conv,bn}` for the blocks that
             are not skipped, in order, `features.final_block.{conv,bn}`, `output`.
  tree       (the original `PyramidTreeNet`, `cifar_modules.py`): `blocks.0.layers.{0.conv,1.bn}`
             (stem), `blocks.N.{in_bottle,out_bottle}.{bn,conv}`, `blocks.N.final_bn`,
             `blocks.N.cell[.child_nodes.I]*.edges.J.{bn,conv,depth_conv,point_conv}`,
             `...branch_bns.J`, the head's `blocks.L.layers.0.bn`, `classifier.linear`.
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
  if any(k.startswith("blocks.1.in_bottle.") for k in state):
    return "tree"
  if any(k.startswith("first_conv.") for k in state):
    return "original"
  if any(k.startswith("features.init_block.") for k in state):
    return "pytorchcv"
  shown = ", ".join(list(state)[:3])
  raise UserError(f"unknown PyTorch naming (first tensors: {shown}); expected the original "
                  "ProxylessNAS code's (first_conv.*, blocks.N.*, or blocks.N.in_bottle.* for a "
                  "PyramidTreeNet) or pytorchcv's (features.init_block.*, features.stageS.unitU.*)")


def _bn_tensors(prefix: str, bn, where: str):
  for keras_name, torch_name in _BN:
    yield f"{prefix}.{torch_name}", getattr(bn, keras_name), "bn", where


def _pre_act_tensors(prefix: str, layer, where: str):
  """A `PreActOp` (tree edge or bottleneck): its input BN, then its conv(s)."""
  if layer.bn is not None:
    yield from _bn_tensors(f"{prefix}.bn", layer.bn, where)
  if layer.depthwise is not None:
    yield f"{prefix}.depth_conv.weight", layer.depthwise.kernel, "depthwise", where
    yield f"{prefix}.point_conv.weight", layer.conv.kernel, "conv", where
  elif layer.conv is not None:
    yield f"{prefix}.conv.weight", layer.conv.kernel, "conv", where


def _tree_tensors(model, config):
  """(torch name, Keras variable, layout, where) of every weight of a tree-cell net."""
  yield "blocks.0.layers.0.conv.weight", model.get_layer("stem").kernel, "conv", "stem"
  yield from _bn_tensors("blocks.0.layers.1.bn", model.get_layer("stem_bn"), "stem")
  for i in range(len(config.blocks)):
    block, base, where = model.get_layer(f"block_{i}"), f"blocks.{i + 1}", f"block_{i}"
    yield from _pre_act_tensors(f"{base}.in_bottle", block.in_bottle, f"{where} in_bottle")
    cell = block.cell
    for path, layer in zip(cell.paths, cell.edge_layers):
      node = "".join(f".child_nodes.{p}" for p in path[:-1])
      yield from _pre_act_tensors(f"{base}.cell{node}.edges.{path[-1]}", layer,
                                  f"{where} {layer.name}")
    for path, index in cell.branch_bn_index.items():
      node = "".join(f".child_nodes.{p}" for p in path[:-1])
      yield from _bn_tensors(f"{base}.cell{node}.branch_bns.{path[-1]}", cell.branch_bns[index],
                             f"{where} branch BN {path}")
    yield from _pre_act_tensors(f"{base}.out_bottle", block.out_bottle, f"{where} out_bottle")
    if block.final_bn is not None:
      yield from _bn_tensors(f"{base}.final_bn", block.final_bn, f"{where} final_bn")
  yield from _bn_tensors(f"blocks.{len(config.blocks) + 1}.layers.0.bn",
                         model.get_layer("head_bn"), "head")
  classifier = model.get_layer("classifier")
  yield "classifier.linear.weight", classifier.kernel, "dense", "classifier"
  yield "classifier.linear.bias", classifier.bias, "bias", "classifier"


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

  is_tree = getattr(config, "family", None) == "pyramid_tree"
  if is_tree != (scheme == "tree"):
    raise UserError(f"the checkpoint is a {'PyramidTreeNet' if scheme == 'tree' else 'MobileNetV2-style'} "
                    f"net, arch '{config.name}' is {'a tree-cell net' if is_tree else 'not'}: not "
                    "the same network")
  for name, variable, kind, where in (_tree_tensors(model, config) if is_tree else ()):
    take(name, variable, kind, where)
  for layer_name, part, prefix in ([] if is_tree else _layer_names(config, scheme, state)):
    layer = model.get_layer(layer_name)
    where = layer_name if part is None else f"{layer_name} {part}"
    if layer_name == "classifier":
      take(f"{prefix}.weight", layer.kernel, "dense", where)
      take(f"{prefix}.bias", layer.bias, "bias", where)
      continue
    if part is None:
      conv, bn, kind = layer.conv, layer.bn, "conv"
    else:
      conv, kind = {"expand": (layer.expand_conv, "conv"), "project": (layer.project, "conv"),
                    "depthwise": (layer.depthwise, "depthwise")}[part]
      bn = {"expand": layer.expand_bn, "project": layer.project_bn,
            "depthwise": layer.depthwise_bn}[part]
    take(f"{prefix}.conv.weight", conv.kernel, kind, where)
    for keras_name, torch_name in _BN:
      take(f"{prefix}.bn.{torch_name}", getattr(bn, keras_name), "bn", where)
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
