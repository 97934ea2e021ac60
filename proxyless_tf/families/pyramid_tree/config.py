"""The PyramidTreeNet family: residual blocks whose cell is a tree of edges (the CIFAR-10 half of
ProxylessNAS, from Path-Level EAS). A config type beside the MobileNetV2 family's `ArchConfig`.

A net is: stem (3x3 conv, then BN) -> blocks -> head (BN, ReLU, global average pool, dense).
Every layer is pre-activation (BN on its input, then ReLU where it has one, then its weight op),
as the original code's `ops_order: bn_act_weight`. A block is

  out = shortcut(x) [zero channels appended] + final_bn(out_bottle(cell(in_bottle(x))))

with in_bottle = BN -> 1x1 conv to `width`, out_bottle = BN -> ReLU -> 1x1 conv to `filters`, and
the shortcut an identity or, in a stride-2 block, a 2x2 average pool of stride 2.

A cell is a tree of nodes. A node hands its input to its edges (`split: copy` gives each the
whole input, `split` cuts the channels into near-equal parts, `null` has one edge), each edge's
output goes through the edge's child node (if any), and the branches are merged (`add` or
`concat`). With `branch_bn` a branch's output is BN(child(e)) + e, where e is the edge's output.

An edge is one op named as in `EDGE_OPS`: `sep_KxK[_dD]` (BN, ReLU, depthwise KxK with dilation D,
1x1 conv: the original `DepthConvLayer`), `conv_KxK[_gG]` (BN, ReLU, KxK conv in G groups
followed by a channel shuffle when G > 1), `max_KxK` / `avg_KxK` (pooling, the average excluding
the padding) and `identity`. An edge keeps its input's channels unless it says `filters`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from proxyless_tf.arch.config import (MAX_BLOCKS, MAX_CLASSES, MAX_FILTERS, MAX_INPUT_CHANNELS,
                                      MAX_INPUT_SIZE, MAX_KERNEL, NAME_PATTERN, ArchConfigError,
                                      NetConfigMethods, _check_float, _check_int)

FAMILY = "pyramid_tree"
SPLITS = ("copy", "split")
MERGES = ("add", "concat")
MAX_TREE_DEPTH = 8
MAX_DILATION = 8
MAX_EDGES = 16  # per node

_OP_PATTERNS = (
    ("identity", re.compile(r"identity")),
    ("sep", re.compile(r"sep_(\d+)x(\d+)(?:_d(\d+))?")),
    ("conv", re.compile(r"conv_(\d+)x(\d+)(?:_g(\d+))?(?:_d(\d+))?")),
    ("pool", re.compile(r"(max|avg)_(\d+)x(\d+)")),
)
# The candidate edges of a tree-cell search: Path-Level EAS's list (3x3/5x5/7x7 depthwise-
# separable, 1x1 conv, identity, 3x3 max and average pool) and the dilated 3x3 the Proxyless-G
# net uses. Any op `parse_op` accepts is legal in a config.
EDGE_OPS = ("sep_3x3", "sep_5x5", "sep_7x7", "sep_3x3_d2", "conv_1x1", "identity", "max_3x3",
            "avg_3x3")


@dataclasses.dataclass(frozen=True)
class EdgeOp:
  """An edge op parsed from its name: what it computes, with which weights."""

  kind: str  # identity | sep | conv | pool
  kernel_size: int = 1
  dilation: int = 1
  groups: int = 1
  pool_type: str = ""

  @property
  def name(self) -> str:
    k = f"{self.kernel_size}x{self.kernel_size}"
    if self.kind == "identity":
      return "identity"
    if self.kind == "pool":
      return f"{self.pool_type}_{k}"
    dilation = f"_d{self.dilation}" if self.dilation > 1 else ""
    groups = f"_g{self.groups}" if self.groups > 1 else ""
    return f"{self.kind}_{k}{groups}{dilation}"

  @property
  def has_weights(self) -> bool:
    return self.kind in ("sep", "conv")

  @property
  def keeps_channels(self) -> bool:
    return self.kind in ("identity", "pool")

  @property
  def padding(self) -> int:
    """PyTorch's padding on each side (the original's `get_same_padding(k) * dilation`; pools pad
    only at stride 1)."""
    return self.dilation * (self.kernel_size // 2)

  def output_resolution(self, resolution: int, stride: int) -> int:
    if self.kind == "identity":
      return resolution
    if self.kind == "pool" and stride > 1:
      return (resolution - self.kernel_size) // stride + 1
    span = self.dilation * (self.kernel_size - 1) + 1
    return (resolution + 2 * self.padding - span) // stride + 1

  def params(self, in_channels: int, out_channels: int) -> tuple[int, int]:
    """(trainable, total) parameters: the pre-activation BN (on the input) and the weights."""
    if not self.has_weights:
      return 0, 0
    k2 = self.kernel_size ** 2
    if self.kind == "sep":
      weights = k2 * in_channels + in_channels // self.groups * out_channels
    else:
      weights = k2 * in_channels // self.groups * out_channels
    return weights + 2 * in_channels, weights + 4 * in_channels

  def macs(self, out_resolution: int, in_channels: int, out_channels: int) -> int:
    pixels = out_resolution * out_resolution
    k2 = self.kernel_size ** 2
    if self.kind == "sep":
      return pixels * (k2 * in_channels + in_channels // self.groups * out_channels)
    if self.kind == "conv":
      return pixels * k2 * in_channels // self.groups * out_channels
    return 0


def parse_op(name: Any, where: str = "edge") -> EdgeOp:
  if not isinstance(name, str):
    raise ArchConfigError(f"{where}: 'op' must be a string such as 'sep_3x3', got {name!r:.40}")
  for kind, pattern in _OP_PATTERNS:
    m = pattern.fullmatch(name)
    if not m:
      continue
    if kind == "identity":
      return EdgeOp("identity")
    pool_type, groups, dilation = "", 1, 1
    if kind == "pool":
      pool_type, kh, kw = m[1], int(m[2]), int(m[3])
    elif kind == "sep":
      kh, kw, dilation = int(m[1]), int(m[2]), int(m[3] or 1)
    else:
      kh, kw, groups, dilation = int(m[1]), int(m[2]), int(m[3] or 1), int(m[4] or 1)
    if kh != kw:
      raise ArchConfigError(f"{where}: op {name!r}: only square kernels are supported")
    if not 1 <= kh <= MAX_KERNEL or (kh % 2 == 0 and kind != "pool"):
      raise ArchConfigError(f"{where}: op {name!r}: the kernel must be odd, 1 to {MAX_KERNEL}")
    if not 1 <= dilation <= MAX_DILATION:
      raise ArchConfigError(f"{where}: op {name!r}: dilation must be 1 to {MAX_DILATION}")
    if not 1 <= groups <= MAX_FILTERS:
      raise ArchConfigError(f"{where}: op {name!r}: groups must be >= 1")
    return EdgeOp(kind, kh, dilation, groups, pool_type)
  raise ArchConfigError(f"{where}: unknown op {name!r:.40}; use one of {', '.join(EDGE_OPS)} "
                        "(or another kernel / dilation / group count of the same forms, e.g. "
                        "'sep_5x5_d2', 'conv_3x3_g2')")


@dataclasses.dataclass(frozen=True)
class Edge:
  op: str
  filters: int | None = None  # output channels; None: the input's
  stride: int = 1
  child: "Node | None" = None

  @property
  def parsed(self) -> EdgeOp:
    return parse_op(self.op)

  def to_dict(self) -> dict[str, Any]:
    out: dict[str, Any] = {"op": self.op}
    if self.filters is not None:
      out["filters"] = self.filters
    if self.stride != 1:
      out["stride"] = self.stride
    if self.child is not None:
      out["child"] = self.child.to_dict()
    return out


@dataclasses.dataclass(frozen=True)
class Node:
  edges: tuple[Edge, ...]
  split: str | None = "copy"
  merge: str | None = "add"
  branch_bn: bool = False

  def to_dict(self) -> dict[str, Any]:
    return {"split": self.split, "merge": self.merge, "branch_bn": self.branch_bn,
            "edges": [e.to_dict() for e in self.edges]}

  def edge_list(self, prefix: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], Edge]]:
    """Every edge below this node, depth first (an edge, then its child's edges): the order the
    search numbers a cell's decisions in."""
    out = []
    for i, edge in enumerate(self.edges):
      out.append((prefix + (i,), edge))
      if edge.child is not None:
        out.extend(edge.child.edge_list(prefix + (i,)))
    return out


def split_channels(channels: int, parts: int) -> list[int]:
  """The original's `get_split_list`: near-equal parts, the first ones one larger."""
  return [channels // parts + (1 if i < channels % parts else 0) for i in range(parts)]


def edge_inputs(node: Node, channels: int) -> list[int]:
  if node.split == "split":
    return split_channels(channels, len(node.edges))
  return [channels] * len(node.edges)


@dataclasses.dataclass(frozen=True)
class NodeShape:
  """What flows through a node, computed once by `walk`: per edge (in, out, out resolution) and
  per branch the output channels; the node's output."""

  edges: list[tuple[int, int, int]]
  branches: list[int]
  out_channels: int
  out_resolution: int


def walk(node: Node, channels: int, resolution: int, where: str,
         depth: int = 0) -> tuple[int, int, dict]:
  """Checks a node (and below) for the shapes it is given; returns (out channels, out
  resolution, {path: NodeShape}). Every mistake is one ArchConfigError naming the edge."""
  if depth > MAX_TREE_DEPTH:
    raise ArchConfigError(f"{where}: the tree is deeper than {MAX_TREE_DEPTH} levels")
  if not isinstance(node, Node):
    raise ArchConfigError(f"{where}: expected a tree node, got {type(node).__name__}")
  if not node.edges or len(node.edges) > MAX_EDGES:
    raise ArchConfigError(f"{where}: a node needs 1 to {MAX_EDGES} edges, has {len(node.edges)}")
  if node.split not in SPLITS + (None,) or node.merge not in MERGES + (None,):
    raise ArchConfigError(f"{where}: 'split' must be one of {list(SPLITS)} or null and 'merge' "
                          f"one of {list(MERGES)} or null, got {node.split!r:.20} / "
                          f"{node.merge!r:.20}")
  if (node.split is None or node.merge is None) and len(node.edges) != 1:
    raise ArchConfigError(f"{where}: a node with split or merge null has exactly one edge, "
                          f"this one has {len(node.edges)}")
  if not isinstance(node.branch_bn, bool):
    raise ArchConfigError(f"{where}: 'branch_bn' must be true or false")
  if node.split == "split" and channels < len(node.edges):
    raise ArchConfigError(f"{where}: cannot split {channels} channels into {len(node.edges)} "
                          "edges")
  shapes: dict = {}
  edges, branches, resolutions = [], [], []
  for i, (edge, c_in) in enumerate(zip(node.edges, edge_inputs(node, channels))):
    here = f"{where}.{i}"
    if not isinstance(edge, Edge):
      raise ArchConfigError(f"{here}: expected an edge, got {type(edge).__name__}")
    op = parse_op(edge.op, here)
    if edge.filters is not None:
      _check_int(here, "filters", edge.filters, 1, MAX_FILTERS)
    if edge.stride not in (1, 2) or isinstance(edge.stride, bool):
      raise ArchConfigError(f"{here}: 'stride' must be 1 or 2, got {edge.stride!r}")
    c_out = c_in if edge.filters is None else edge.filters
    if op.keeps_channels and c_out != c_in:
      raise ArchConfigError(f"{here}: {op.name} keeps its input's {c_in} channels; drop "
                            f"'filters' ({edge.filters}) or use a conv")
    if op.groups > 1 and (c_in % op.groups or c_out % op.groups):
      raise ArchConfigError(f"{here}: {op.name} needs in ({c_in}) and out ({c_out}) channels "
                            f"divisible by {op.groups}")
    if op.kind == "identity" and edge.stride != 1:
      raise ArchConfigError(f"{here}: identity cannot have stride {edge.stride}")
    if op.dilation > 1 and edge.stride > 1:
      raise ArchConfigError(f"{here}: {op.name} cannot combine dilation and stride 2")
    if op.kind == "pool" and op.kernel_size % 2 == 0 and edge.stride == 1:
      raise ArchConfigError(f"{here}: {op.name} at stride 1 needs an odd kernel (it pads k // 2)")
    if op.kind == "pool" and edge.stride > 1 and op.kernel_size != edge.stride:
      raise ArchConfigError(f"{here}: a strided pool has kernel == stride (no padding), got "
                            f"{op.name} stride {edge.stride}")
    if edge.stride > 1 and resolution % 2:
      raise ArchConfigError(f"{here}: stride 2 on an odd resolution ({resolution}) gives the "
                            "edge and the shortcut different sizes; use an input size "
                            "divisible by 4")
    res = op.output_resolution(resolution, edge.stride)
    if res < 1:
      raise ArchConfigError(f"{here}: {op.name} leaves no pixels of a {resolution}x{resolution} "
                            "input")
    edges.append((c_in, c_out, res))
    out = c_out
    if edge.child is not None:
      out, res, below = walk(edge.child, c_out, res, here, depth + 1)
      shapes.update(below)
    if node.branch_bn and out != c_out:
      raise ArchConfigError(f"{here}: branch_bn adds the edge's output ({c_out} channels) to "
                            f"its child's ({out}); they must match")
    branches.append(out)
    resolutions.append(res)
  if len(set(resolutions)) > 1:
    raise ArchConfigError(f"{where}: the branches end at different resolutions {resolutions}")
  if node.merge == "add" and len(set(branches)) > 1:
    raise ArchConfigError(f"{where}: 'add' needs equal channels on every branch, got {branches}")
  out = sum(branches) if node.merge == "concat" else branches[0]
  shapes[where] = NodeShape(edges, branches, out, resolutions[0])
  return out, resolutions[0], shapes


@dataclasses.dataclass(frozen=True)
class TreeBlock:
  """One residual tree block: bottleneck `width`, output `filters` (PyramidNet: 4 x width)."""

  width: int
  filters: int
  stride: int
  cell: Node
  final_bn: bool = True

  def to_dict(self) -> dict[str, Any]:
    out = {"width": self.width, "filters": self.filters, "stride": self.stride,
           "cell": self.cell.to_dict()}
    if not self.final_bn:
      out["final_bn"] = False
    return out


@dataclasses.dataclass(frozen=True)
class TreeNetConfig(NetConfigMethods):
  blocks: tuple[TreeBlock, ...]
  name: str = "tree_net"
  input_size: int = 32
  input_channels: int = 3
  num_classes: int = 10
  stem_filters: int = 16
  dropout: float = 0.0
  bn_momentum: float = 0.9  # Keras convention (PyTorch's 0.1)
  bn_epsilon: float = 1e-5  # PyTorch's default: the original config has no `bn` key
  family: str = dataclasses.field(default=FAMILY, init=False)

  # PyTorch's k // 2 (times the dilation) on every side: the only convention of this family.
  padding = "symmetric"
  json_indent = 1

  def __post_init__(self):
    object.__setattr__(self, "blocks", tuple(self.blocks))
    validate_tree(self)

  def block_inputs(self) -> list[tuple[int, int]]:
    """(resolution, channels) entering each block."""
    res, channels, out = self.input_size, self.stem_filters, []
    for block in self.blocks:
      out.append((res, channels))
      res, channels = res // block.stride, block.filters
    return out

  @property
  def final_resolution(self) -> int:
    res = self.input_size
    for block in self.blocks:
      res //= block.stride
    return res

  @property
  def head_filters(self) -> int:
    return self.blocks[-1].filters

  def cell_shapes(self, i: int) -> dict:
    res, channels = self.block_inputs()[i]
    return walk(self.blocks[i].cell, self.blocks[i].width, res, f"block {i} cell")[2]

  def to_dict(self) -> dict[str, Any]:
    return {"family": FAMILY, "name": self.name, "input_size": self.input_size,
            "input_channels": self.input_channels, "num_classes": self.num_classes,
            "stem": {"filters": self.stem_filters},
            "blocks": [b.to_dict() for b in self.blocks],
            "dropout": self.dropout, "bn": {"momentum": self.bn_momentum,
                                            "epsilon": self.bn_epsilon}}

  def with_width(self, multiplier: float) -> "TreeNetConfig":
    if multiplier == 1.0:
      return self
    raise ArchConfigError("--width_mult is not defined for tree-cell nets (their widths come from "
                          "the PyramidNet widening); build a narrower net from the search space")


def validate_tree(config: TreeNetConfig) -> None:
  if not isinstance(config.name, str) or not NAME_PATTERN.fullmatch(config.name):
    raise ArchConfigError(f"config: 'name' must be 1-128 letters, digits, '_', '.' or '-' "
                          f"(starting with a letter or digit), got {config.name!r:.60}")
  _check_int("config", "input_size", config.input_size, 1, MAX_INPUT_SIZE)
  _check_int("config", "input_channels", config.input_channels, 1, MAX_INPUT_CHANNELS)
  _check_int("config", "num_classes", config.num_classes, 1, MAX_CLASSES)
  _check_int("stem", "filters", config.stem_filters, 1, MAX_FILTERS)
  _check_float("config", "dropout", config.dropout, 0.0, 1.0)
  _check_float("bn", "momentum", config.bn_momentum, 0.0, 1.0,
               hint=" (Keras convention: weight of the old statistics)")
  _check_float("bn", "epsilon", config.bn_epsilon, 0.0, 1.0, high_open=False, low_open=True)
  if not config.blocks:
    raise ArchConfigError("config: 'blocks' is empty; a network needs at least one block")
  if len(config.blocks) > MAX_BLOCKS:
    raise ArchConfigError(f"config: {len(config.blocks)} blocks, at most {MAX_BLOCKS}")
  res, channels, params = config.input_size, config.stem_filters, 0
  for i, block in enumerate(config.blocks):
    where = f"block {i}"
    if not isinstance(block, TreeBlock):
      raise ArchConfigError(f"{where}: expected a tree block, got {type(block).__name__}")
    _check_int(where, "width", block.width, 1, MAX_FILTERS)
    _check_int(where, "filters", block.filters, 1, MAX_FILTERS)
    if block.stride not in (1, 2) or isinstance(block.stride, bool):
      raise ArchConfigError(f"{where}: 'stride' must be 1 or 2, got {block.stride!r}")
    if not isinstance(block.final_bn, bool):
      raise ArchConfigError(f"{where}: 'final_bn' must be true or false")
    if block.filters < channels:
      raise ArchConfigError(f"{where}: 'filters' {block.filters} is below its input's {channels} "
                            "channels; the shortcut only appends zero channels (PyramidNet)")
    if block.stride == 2 and res % 2:
      raise ArchConfigError(f"{where}: stride 2 on an odd resolution ({res}); use an input size "
                            "divisible by 4")
    out, cell_res, _ = walk(block.cell, block.width, res, f"{where} cell")
    if out != block.width:
      raise ArchConfigError(f"{where} cell: ends with {out} channels, the block's width is "
                            f"{block.width}; the out bottleneck reads `width` channels")
    if cell_res != res // block.stride:
      raise ArchConfigError(f"{where} cell: ends at {cell_res}x{cell_res}, the block's stride "
                            f"{block.stride} makes {res // block.stride}x{res // block.stride}: "
                            "put the stride on the cell's edges")
    res, channels = cell_res, block.filters
    if res < 1:
      raise ArchConfigError(f"{where}: no pixels left; use a larger input size")
    params += block.width * block.filters + channels * block.width
  if params > 2**31 // 4:
    raise ArchConfigError(f"config: ~{params:.2e} parameters, more than a TFLite file can hold")


# -- reading and writing our JSON ---------------------------------------------------------------

_TOP_KEYS = {"family", "name", "input_size", "input_channels", "num_classes", "stem", "blocks",
             "dropout", "bn"}
_BLOCK_KEYS = {"width", "filters", "stride", "cell", "final_bn"}
_NODE_KEYS = {"split", "merge", "branch_bn", "edges"}
_EDGE_KEYS = {"op", "filters", "stride", "child"}


def _object(where: str, data: Any, allowed: set) -> dict:
  if not isinstance(data, dict):
    raise ArchConfigError(f"{where}: expected an object, got {type(data).__name__}")
  unknown = set(data) - allowed
  if unknown:
    raise ArchConfigError(f"{where}: unknown field(s) {sorted(map(str, unknown))}; allowed: "
                          f"{sorted(allowed)}")
  return data


def node_from_dict(data: Any, where: str, depth: int = 0) -> Node:
  if depth > MAX_TREE_DEPTH:
    raise ArchConfigError(f"{where}: the tree is deeper than {MAX_TREE_DEPTH} levels")
  data = _object(where, data, _NODE_KEYS)
  edges = data.get("edges")
  if not isinstance(edges, list) or not 1 <= len(edges) <= MAX_EDGES:
    raise ArchConfigError(f"{where}: 'edges' must be a list of 1 to {MAX_EDGES} edges")
  parsed = []
  for i, e in enumerate(edges):
    here = f"{where}.{i}"
    e = _object(here, e, _EDGE_KEYS)
    if "op" not in e:
      raise ArchConfigError(f"{here}: missing 'op'")
    child = e.get("child")
    parsed.append(Edge(op=e["op"], filters=e.get("filters"), stride=e.get("stride", 1),
                       child=None if child is None else node_from_dict(child, here, depth + 1)))
  return Node(edges=tuple(parsed), split=data.get("split", "copy"),
              merge=data.get("merge", "add"), branch_bn=data.get("branch_bn", False))


def is_tree_dict(data: Any) -> bool:
  return isinstance(data, dict) and data.get("family") == FAMILY


def tree_from_dict(data: Any) -> TreeNetConfig:
  data = _object("config", data, _TOP_KEYS)
  if data.get("family") != FAMILY:
    raise ArchConfigError(f"config: 'family' must be {FAMILY!r} for a tree-cell net")
  blocks = data.get("blocks")
  if not isinstance(blocks, list):
    raise ArchConfigError("config: 'blocks' must be a list of block objects")
  if len(blocks) > MAX_BLOCKS:
    raise ArchConfigError(f"config: {len(blocks)} blocks, at most {MAX_BLOCKS}")
  parsed = []
  for i, b in enumerate(blocks):
    b = _object(f"block {i}", b, _BLOCK_KEYS)
    for field in ("width", "filters", "cell"):
      if field not in b:
        raise ArchConfigError(f"block {i}: missing field '{field}'")
    parsed.append(TreeBlock(width=b["width"], filters=b["filters"], stride=b.get("stride", 1),
                            cell=node_from_dict(b["cell"], f"block {i} cell"),
                            final_bn=b.get("final_bn", True)))
  stem = _object("stem", data.get("stem", {}), {"filters"})
  bn = _object("bn", data.get("bn", {}), {"momentum", "epsilon"})
  defaults = {f.name: f.default for f in dataclasses.fields(TreeNetConfig)}
  return TreeNetConfig(
      blocks=tuple(parsed), name=data.get("name", defaults["name"]),
      input_size=data.get("input_size", defaults["input_size"]),
      input_channels=data.get("input_channels", defaults["input_channels"]),
      num_classes=data.get("num_classes", defaults["num_classes"]),
      stem_filters=stem.get("filters", defaults["stem_filters"]),
      dropout=data.get("dropout", defaults["dropout"]),
      bn_momentum=bn.get("momentum", defaults["bn_momentum"]),
      bn_epsilon=bn.get("epsilon", defaults["bn_epsilon"]))


# -- the tree shape of Path-Level EAS / Proxyless-G ----------------------------------------------

def pyramid_widths(blocks: int, start: int = 16, alpha: float = 84) -> list[int]:
  """PyramidNet's additive widening as the released Proxyless-G net has it: block i (1-based)
  has bottleneck width 2 * (round(start + alpha * i / blocks) // 2) (18, 18, 20, ... 100 for 54
  blocks from 16 with alpha 84)."""
  return [2 * (round(start + alpha * i / blocks) // 2) for i in range(1, blocks + 1)]


def binary_cell(width: int, stride: int, ops, depth: int = 3) -> Node:
  """The Proxyless-G cell: a root edge `conv_3x3_g2` (width -> 2 width, the block's stride), then
  a `split`/`add` node with branch BN over 2 edges, then `copy`/`add` nodes of 2 edges each, down
  to `depth` levels of searchable edges (2 + 4 + 8 = 14 for depth 3). `ops` are the searchable
  edges' op names, depth first (an edge, then the edges below it)."""
  ops = list(ops)
  wanted = sum(2 ** level for level in range(1, depth + 1))
  if len(ops) != wanted:
    raise ArchConfigError(f"a depth-{depth} cell has {wanted} searchable edges, got {len(ops)} "
                          "op names")
  names = iter(ops)

  def level(n: int) -> Node:
    edges = []
    for _ in range(2):
      op = next(names)
      edges.append(Edge(op=op, child=level(n + 1) if n < depth else None))
    return Node(edges=tuple(edges), split="split" if n == 1 else "copy", merge="add",
                branch_bn=n == 1)

  return Node(edges=(Edge(op="conv_3x3_g2", filters=2 * width, stride=stride, child=level(1)),),
              split=None, merge=None)


def cell_ops(cell: Node) -> list[str]:
  """The searchable edges' ops of a `binary_cell` (all edges below the root), depth first."""
  return [edge.op for path, edge in cell.edge_list() if len(path) > 1]


# -- counting -----------------------------------------------------------------------------------

def _bn(channels: int) -> tuple[int, int]:
  return 2 * channels, 4 * channels


def node_counts(node: Node, channels: int, resolution: int) -> tuple[int, int, int]:
  """(trainable, total params, MACs) of a node and everything below it."""
  trainable = total = macs = 0
  _, _, shapes = walk(node, channels, resolution, "cell")
  shape = shapes["cell"]
  for edge, (c_in, c_out, res) in zip(node.edges, shape.edges):
    op = edge.parsed
    t, a = op.params(c_in, c_out)
    trainable, total, macs = trainable + t, total + a, macs + op.macs(res, c_in, c_out)
    if edge.child is not None:
      t, a, m = node_counts(edge.child, c_out, res)
      trainable, total, macs = trainable + t, total + a, macs + m
  if node.branch_bn:
    for out in shape.branches:
      t, a = _bn(out)
      trainable, total = trainable + t, total + a
  return trainable, total, macs


def block_counts(block: TreeBlock, resolution: int, channels: int) -> tuple[int, int, int]:
  """(trainable, total params, MACs) of one residual tree block (the in / out bottlenecks with
  their pre-activation BNs, the cell, the final BN). Pooling and adds are not counted."""
  out_res = resolution // block.stride
  t_in, a_in = _bn(channels)
  t_mid, a_mid = _bn(block.width)
  t_cell, a_cell, m_cell = node_counts(block.cell, block.width, resolution)
  t_fin, a_fin = _bn(block.filters) if block.final_bn else (0, 0)
  trainable = t_in + channels * block.width + t_mid + block.width * block.filters + t_cell + t_fin
  total = a_in + channels * block.width + a_mid + block.width * block.filters + a_cell + a_fin
  macs = (resolution ** 2 * channels * block.width + out_res ** 2 * block.width * block.filters
          + m_cell)
  return trainable, total, macs


def tree_rows(config: TreeNetConfig) -> list[tuple[str, int, int, int, int, int, int]]:
  """(name, resolution, in, out, trainable, total, MACs): the stem, each block, the head."""
  c, r = config.input_channels, config.input_size
  stem_w = 9 * c * config.stem_filters
  t, a = _bn(config.stem_filters)
  rows = [("stem", r, c, config.stem_filters, stem_w + t, stem_w + a,
           r * r * stem_w)]
  for i, (block, (res, channels)) in enumerate(zip(config.blocks, config.block_inputs())):
    rows.append((f"block_{i}", res, channels, block.filters, *block_counts(block, res, channels)))
  t, a = _bn(config.head_filters)
  dense = config.head_filters * config.num_classes
  rows.append(("head", config.final_resolution, config.head_filters, config.num_classes,
               t + dense + config.num_classes, a + dense + config.num_classes, dense))
  return rows
