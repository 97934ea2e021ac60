"""Reads and writes the original PyTorch code's PyramidTreeNet JSON (`proxyless_cifar.config`).

The original (mit-han-lab/proxylessnas `proxyless_nas/cifar_modules.py`) spells every layer out
with its channels, BN and activation. Here a layer must be what the family's op names say (e.g. a
`DepthConvLayer` has BN and ReLU before its weights): anything else is one error naming the layer,
because the Keras net would compute another function. Writing gives back the same JSON, so a
net found here runs in the original code, and `from_original(to_original(c)) == c`.
"""

from __future__ import annotations

from typing import Any

from proxyless_tf.arch.config import ArchConfigError
from proxyless_tf.families.pyramid_tree.config import (Edge, Node, TreeBlock, TreeNetConfig,
                                                       edge_inputs, parse_op, walk)

NETWORK_NAME = "PyramidTreeNet"
ORDER = "bn_act_weight"


def is_original_tree(data: Any) -> bool:
  return isinstance(data, dict) and data.get("name") == NETWORK_NAME


def _get(data: Any, where: str, key: str, default: Any = KeyError) -> Any:
  if not isinstance(data, dict):
    raise ArchConfigError(f"{NETWORK_NAME} {where}: expected an object, got "
                          f"{type(data).__name__}")
  if key not in data:
    if default is KeyError:
      raise ArchConfigError(f"{NETWORK_NAME} {where}: missing '{key}'")
    return default
  return data[key]


def _expect(layer: dict, where: str, **wanted) -> None:
  for key, value in wanted.items():
    got = _get(layer, where, key, None)
    if got != value and not (key == "dropout_rate" and got in (0, 0.0, None)):
      raise ArchConfigError(f"{NETWORK_NAME} {where}: '{key}' is {got!r:.40}, only {value!r} is "
                            "supported here")


def _int(layer: dict, where: str, key: str) -> int:
  value = _get(layer, where, key)
  if isinstance(value, list) and len(value) == 2 and value[0] == value[1]:
    value = value[0]
  if isinstance(value, bool) or not isinstance(value, int):
    raise ArchConfigError(f"{NETWORK_NAME} {where}: '{key}' must be an integer, got "
                          f"{value!r:.40}")
  return value


def _rate(data: Any, where: str, key: str) -> float:
  """A probability-like field (dropout): a number in [0, 1); absent or null is 0."""
  value = _get(data, where, key, 0)
  value = 0 if value is None else value
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
    raise ArchConfigError(f"{NETWORK_NAME} {where}: '{key}' must be a number in [0, 1), got "
                          f"{value!r:.40}")
  return float(value)


def _edge_op(layer: Any, where: str) -> tuple[str, int, int]:
  """(op name, stride, out channels) of one edge layer."""
  name = _get(layer, where, "name")
  _expect(layer, where, ops_order=ORDER, dropout_rate=0)
  out = _int(layer, where, "out_channels")
  if name == "IdentityLayer":
    _expect(layer, where, use_bn=False, act_func=None)
    return "identity", 1, out
  if name == "PoolingLayer":
    _expect(layer, where, use_bn=False, act_func=None)
    pool = _get(layer, where, "pool_type")
    if pool not in ("max", "avg"):
      raise ArchConfigError(f"{NETWORK_NAME} {where}: pool_type {pool!r:.20} (max or avg)")
    k = _int(layer, where, "kernel_size")
    return f"{pool}_{k}x{k}", _int(layer, where, "stride"), out
  if name in ("ConvLayer", "DepthConvLayer"):
    _expect(layer, where, use_bn=True, act_func="relu", bias=False)
    k, d, g = (_int(layer, where, key) for key in ("kernel_size", "dilation", "groups"))
    shuffle = bool(_get(layer, where, "has_shuffle", False))
    if g > 1 and not shuffle:
      raise ArchConfigError(f"{NETWORK_NAME} {where}: a grouped conv without channel shuffle is "
                            "not supported (the family's `conv_KxK_gG` shuffles)")
    kind = "conv" if name == "ConvLayer" else "sep"
    op = f"{kind}_{k}x{k}" + (f"_g{g}" if g > 1 else "") + (f"_d{d}" if d > 1 else "")
    return op, _int(layer, where, "stride"), out
  raise ArchConfigError(f"{NETWORK_NAME} {where}: edge layer {name!r:.40} is not supported "
                        "(IdentityLayer, PoolingLayer, ConvLayer, DepthConvLayer)")


def _node(data: Any, where: str, depth: int = 0) -> Node:
  if depth > 8:
    raise ArchConfigError(f"{NETWORK_NAME} {where}: the tree is deeper than 8 levels")
  if _get(data, where, "path_drop_rate", 0) not in (0, 0.0):
    raise ArchConfigError(f"{NETWORK_NAME} {where}: path_drop_rate > 0 (drop-path training) is "
                          "not supported; set it to 0")
  edges, children = _get(data, where, "edges"), _get(data, where, "child_nodes")
  if not isinstance(edges, list) or not isinstance(children, list) or len(edges) != len(children):
    raise ArchConfigError(f"{NETWORK_NAME} {where}: 'edges' and 'child_nodes' must be lists of "
                          "the same length")
  parsed = []
  for i, (layer, child) in enumerate(zip(edges, children)):
    if layer is None:
      raise ArchConfigError(f"{NETWORK_NAME} {where}.{i}: an edge without a layer is not "
                            "supported")
    op, stride, out = _edge_op(layer, f"{where}.{i}")
    in_channels = _int(layer, f"{where}.{i}", "in_channels")
    parsed.append(Edge(op=op, filters=None if out == in_channels else out, stride=stride,
                       child=None if child is None else _node(child, f"{where}.{i}", depth + 1)))
  return Node(edges=tuple(parsed), split=_get(data, where, "split_type", None),
              merge=_get(data, where, "merge_type", None),
              branch_bn=bool(_get(data, where, "has_branch_bn", False)))


def _block(data: Any, where: str) -> TreeBlock:
  if _get(data, where, "cell_drop_rate", 0) not in (0, 0.0):
    raise ArchConfigError(f"{NETWORK_NAME} {where}: cell_drop_rate > 0 is not supported; set it "
                          "to 0")
  in_bottle, out_bottle = _get(data, where, "in_bottle"), _get(data, where, "out_bottle")
  for layer, name, act in ((in_bottle, "in_bottle", None), (out_bottle, "out_bottle", "relu")):
    _expect(layer, f"{where} {name}", name="ConvLayer", kernel_size=1, stride=1, groups=1,
            use_bn=True, act_func=act, ops_order=ORDER, bias=False)
  shortcut = _get(data, where, "shortcut")
  stride = 1
  if _get(shortcut, f"{where} shortcut", "name") == "PoolingLayer":
    _expect(shortcut, f"{where} shortcut", pool_type="avg", kernel_size=2, stride=2,
            use_bn=False, act_func=None)
    stride = 2
  else:
    _expect(shortcut, f"{where} shortcut", name="IdentityLayer", use_bn=False, act_func=None)
  return TreeBlock(width=_int(in_bottle, f"{where} in_bottle", "out_channels"),
                   filters=_int(out_bottle, f"{where} out_bottle", "out_channels"), stride=stride,
                   cell=_node(_get(data, where, "cell"), f"{where} cell"),
                   final_bn=bool(_get(data, where, "final_bn", True)))


def from_original(data: Any, name: str | None = None) -> TreeNetConfig:
  """The original JSON -> a config (its input size is 32, CIFAR's, unless a head says other)."""
  if not is_original_tree(data):
    raise ArchConfigError(f"not a {NETWORK_NAME} config (its 'name' is not {NETWORK_NAME!r})")
  if _get(data, "top level", "tree_node_config", None) or _get(data, "top level",
                                                               "cell_drop_rate", 0):
    raise ArchConfigError(f"{NETWORK_NAME} top level: tree_node_config / cell_drop_rate "
                          "overrides are not supported; write them into the blocks")
  blocks = _get(data, "top level", "blocks")
  if not isinstance(blocks, list) or len(blocks) < 3:
    raise ArchConfigError(f"{NETWORK_NAME}: 'blocks' must list a stem, tree blocks and a head")
  stem = _get(blocks[0], "block 0 (stem)", "layers")
  if not isinstance(stem, list) or len(stem) != 2:
    raise ArchConfigError(f"{NETWORK_NAME} block 0 (stem): expected a 3x3 conv and a BN layer")
  _expect(stem[0], "stem conv", name="ConvLayer", kernel_size=3, stride=1, groups=1,
          use_bn=False, act_func=None, bias=False)
  _expect(stem[1], "stem bn", name="IdentityLayer", use_bn=True, act_func=None)
  head = _get(blocks[-1], f"block {len(blocks) - 1} (head)", "layers")
  if not isinstance(head, list) or len(head) != 1:
    raise ArchConfigError(f"{NETWORK_NAME} head: expected one average-pooling layer")
  _expect(head[0], "head", name="PoolingLayer", pool_type="avg", use_bn=True, act_func="relu")
  pool = _int(head[0], "head", "kernel_size")
  classifier = _get(data, "top level", "classifier")
  _expect(classifier, "classifier", name="LinearLayer", bias=True, use_bn=False, act_func=None)
  tree_blocks = tuple(_block(b, f"block {i}") for i, b in enumerate(blocks[1:-1], start=1))
  input_size = pool * 2 ** sum(b.stride == 2 for b in tree_blocks)
  dropout = _rate(classifier, "classifier", "dropout_rate")
  config = TreeNetConfig(
      blocks=tree_blocks, name=name or "proxyless_cifar_net", input_size=input_size,
      input_channels=_int(stem[0], "stem conv", "in_channels"),
      num_classes=_int(classifier, "classifier", "out_features"),
      stem_filters=_int(stem[0], "stem conv", "out_channels"), dropout=dropout)
  if _int(classifier, "classifier", "in_features") != config.head_filters:
    raise ArchConfigError(f"{NETWORK_NAME} classifier: in_features "
                          f"{classifier['in_features']} != the last block's "
                          f"{config.head_filters} channels")
  return config


# -- writing ------------------------------------------------------------------------------------

def _basic(name: str, in_ch: int, out_ch: int, use_bn: bool, act: str | None, **fields) -> dict:
  return {"name": name, **fields, "in_channels": in_ch, "out_channels": out_ch, "use_bn": use_bn,
          "act_func": act, "dropout_rate": 0, "ops_order": ORDER}


def _conv(in_ch, out_ch, kernel=1, stride=1, dilation=1, groups=1, use_bn=True, act="relu",
          name="ConvLayer"):
  return _basic(name, in_ch, out_ch, use_bn, act, kernel_size=kernel, stride=stride,
                dilation=dilation, groups=groups, bias=False, has_shuffle=groups > 1)


def _pool(channels, pool, kernel, stride, use_bn=False, act=None):
  return _basic("PoolingLayer", channels, channels, use_bn, act, pool_type=pool,
                kernel_size=kernel, stride=stride)


def _edge_layer(edge: Edge, in_ch: int, out_ch: int) -> dict:
  op = parse_op(edge.op)
  if op.kind == "identity":
    return _basic("IdentityLayer", in_ch, out_ch, False, None)
  if op.kind == "pool":
    return _pool(in_ch, op.pool_type, op.kernel_size, edge.stride)
  return _conv(in_ch, out_ch, op.kernel_size, edge.stride, op.dilation, op.groups,
               name="ConvLayer" if op.kind == "conv" else "DepthConvLayer")


def _node_dict(node: Node, channels: int, resolution: int) -> dict:
  out, _, shapes = walk(node, channels, resolution, "cell")
  edges, children = [], []
  for edge, c_in in zip(node.edges, edge_inputs(node, channels)):
    c_out = c_in if edge.filters is None else edge.filters
    edges.append(_edge_layer(edge, c_in, c_out))
    res = parse_op(edge.op).output_resolution(resolution, edge.stride)
    children.append(None if edge.child is None else _node_dict(edge.child, c_out, res))
  return {"name": "TreeNode", "in_channels": channels, "out_channels": out,
          "split_type": node.split, "merge_type": node.merge, "has_branch_bn": node.branch_bn,
          "path_drop_rate": 0, "edges": edges, "child_nodes": children}


def to_original(config: TreeNetConfig) -> dict:
  blocks = [{"name": "TransitionBlock", "layers": [
      _conv(config.input_channels, config.stem_filters, 3, use_bn=False, act=None),
      _basic("IdentityLayer", config.stem_filters, config.stem_filters, True, None)]}]
  for block, (res, channels) in zip(config.blocks, config.block_inputs()):
    shortcut = (_pool(channels, "avg", 2, 2) if block.stride == 2 else
                _basic("IdentityLayer", channels, channels, False, None))
    blocks.append({
        "name": "ResidualTreeBlock", "cell_drop_rate": 0.0, "final_bn": block.final_bn,
        "shortcut": shortcut, "in_bottle": _conv(channels, block.width, act=None),
        "out_bottle": _conv(block.width, block.filters),
        "cell": _node_dict(block.cell, block.width, res)})
  res = config.final_resolution
  blocks.append({"name": "TransitionBlock", "layers": [
      _pool(config.head_filters, "avg", res, res, use_bn=True, act="relu")]})
  return {"name": NETWORK_NAME, "blocks": blocks, "classifier": {
      "name": "LinearLayer", "in_features": config.head_filters,
      "out_features": config.num_classes, "bias": True, "use_bn": False, "act_func": None,
      "dropout_rate": config.dropout, "ops_order": ORDER}}
