"""The original `PyramidTreeNet`'s tensor names (`cifar_modules.py`) for a tree-cell net's
weights: `blocks.0.layers.{0.conv,1.bn}` (stem), `blocks.N.{in_bottle,out_bottle}.{bn,conv}`,
`blocks.N.final_bn`, `blocks.N.cell[.child_nodes.I]*.edges.J.{bn,conv,depth_conv,point_conv}`,
`...branch_bns.J`, the head's `blocks.L.layers.0.bn`, `classifier.linear`
(`model/pytorch_weights.py` checks and copies them)."""

from __future__ import annotations

from proxyless_tf.model.pytorch_weights import bn_tensors

SCHEME = "tree"


def tree_scheme(state: dict) -> str | None:
  return SCHEME if any(k.startswith("blocks.1.in_bottle.") for k in state) else None


def _pre_act_tensors(prefix: str, layer, where: str):
  """A `PreActOp` (tree edge or bottleneck): its input BN, then its conv(s)."""
  if layer.bn is not None:
    yield from bn_tensors(f"{prefix}.bn", layer.bn, where)
  if layer.depthwise is not None:
    yield f"{prefix}.depth_conv.weight", layer.depthwise.kernel, "depthwise", where
    yield f"{prefix}.point_conv.weight", layer.conv.kernel, "conv", where
  elif layer.conv is not None:
    yield f"{prefix}.conv.weight", layer.conv.kernel, "conv", where


def tree_tensors(model, config):
  """(torch name, Keras variable, layout, where) of every weight of a tree-cell net."""
  yield "blocks.0.layers.0.conv.weight", model.get_layer("stem").kernel, "conv", "stem"
  yield from bn_tensors("blocks.0.layers.1.bn", model.get_layer("stem_bn"), "stem")
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
      yield from bn_tensors(f"{base}.cell{node}.branch_bns.{path[-1]}", cell.branch_bns[index],
                             f"{where} branch BN {path}")
    yield from _pre_act_tensors(f"{base}.out_bottle", block.out_bottle, f"{where} out_bottle")
    if block.final_bn is not None:
      yield from bn_tensors(f"{base}.final_bn", block.final_bn, f"{where} final_bn")
  yield from bn_tensors(f"blocks.{len(config.blocks) + 1}.layers.0.bn",
                         model.get_layer("head_bn"), "head")
  classifier = model.get_layer("classifier")
  yield "classifier.linear.weight", classifier.kernel, "dense", "classifier"
  yield "classifier.linear.bias", classifier.bias, "bias", "classifier"
