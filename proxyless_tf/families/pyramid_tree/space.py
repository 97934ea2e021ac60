"""The tree-cell search space (ProxylessNAS's CIFAR-10 space): a PyramidTreeNet whose every cell
edge below the root is a mixed op over edge ops.

The same interface as the MobileNetV2-style `SearchSpace` (`mixed_ops`, `derive`, `with_task`,
`reference_*`), so the supernet, the search loop and the cost models treat it alike: a decision is
a `MixedOpSpec` whose candidates are `EdgeCandidate`s (a layer factory plus its name, the cost
key). The fixed parts of a block (bottlenecks, the root's grouped conv, the branch BNs) are
`binary_cell`'s; the sizes (blocks per stage, widening, tree depth, stem width) are fields.
"""

from __future__ import annotations

import dataclasses

from proxyless_tf.errors import UserError
from proxyless_tf.families.pyramid_tree.config import (EDGE_OPS, TreeNetConfig, binary_cell,
                                                       parse_op, pyramid_widths)
from proxyless_tf.space.space import MixedOpSpec, SpaceMethods


@dataclasses.dataclass(frozen=True)
class EdgeCandidate:
  """One edge op as a mixed op's candidate."""

  op: str

  @property
  def is_zero(self) -> bool:
    return False

  @property
  def name(self) -> str:
    return self.op

  def to_config(self):
    return self.op

  def layer(self, filters: int, strides: int, name: str, bn_momentum: float = 0.9,
            bn_epsilon: float = 1e-5, padding: str = "symmetric"):
    del padding  # the family pads as PyTorch does
    from proxyless_tf.families.pyramid_tree.layers import PreActOp
    return PreActOp(self.op, filters if parse_op(self.op).has_weights else None, strides,
                    bn_momentum=bn_momentum, bn_epsilon=bn_epsilon, name=name)


@dataclasses.dataclass(frozen=True)
class TreeSearchSpace(SpaceMethods):
  name: str
  blocks_per_stage: int
  stem_filters: int = 16  # PyramidNet's start width
  alpha: float = 84  # PyramidNet's total widening over all blocks
  depth: int = 3  # levels of searchable edges: 2 + 4 + 8 = 14 per cell at depth 3
  candidates: tuple[EdgeCandidate, ...] = tuple(EdgeCandidate(op) for op in EDGE_OPS)
  input_size: int = 32
  input_channels: int = 3
  num_classes: int = 10
  bn_momentum: float = 0.9
  bn_epsilon: float = 1e-5
  dropout: float = 0.0
  padding: str = "symmetric"
  family: str = "pyramid_tree"

  def __post_init__(self):
    if self.blocks_per_stage < 1 or not 1 <= self.depth <= 6:
      raise UserError(f"space {self.name}: blocks_per_stage must be >= 1 and depth 1 to 6")
    if self.input_size % 4:
      raise UserError(f"space {self.name}: the tree-cell space downsamples twice by 2; its input "
                      f"size must be divisible by 4, got {self.input_size} (use --input_size=32)")
    for c in self.candidates:
      op = parse_op(c.op, f"space {self.name} candidate")
      if op.kind == "conv" and op.groups > 1:
        raise UserError(f"space {self.name}: candidate {c.op}: grouped edges need channel "
                        "counts divisible by their groups; use ungrouped ops")

  # -- sizes ---------------------------------------------------------------------------------------

  @property
  def num_blocks(self) -> int:
    return 3 * self.blocks_per_stage

  def widths(self) -> list[int]:
    return pyramid_widths(self.num_blocks, self.stem_filters, self.alpha)

  def strides(self) -> list[int]:
    n = self.blocks_per_stage
    return [2 if i in (n, 2 * n) else 1 for i in range(self.num_blocks)]

  @property
  def head_filters(self) -> int:
    return 4 * self.widths()[-1]

  @property
  def edges_per_cell(self) -> int:
    return sum(2 ** level for level in range(1, self.depth + 1))

  def with_width(self, multiplier: float):
    if multiplier == 1.0:
      return self
    if multiplier <= 0:
      raise UserError(f"--width_mult must be > 0, got {multiplier}")
    start = max(2, 2 * round(self.stem_filters * multiplier / 2))
    return dataclasses.replace(self, stem_filters=start, alpha=self.alpha * multiplier)

  # -- decisions -----------------------------------------------------------------------------------

  def mixed_ops(self) -> list[MixedOpSpec]:
    """Block by block, each cell's searchable edges depth first; every one maps its block's
    width to itself at the block's output resolution."""
    specs, res = [], self.input_size
    for width, stride in zip(self.widths(), self.strides()):
      res //= stride
      for _ in range(self.edges_per_cell):
        specs.append(MixedOpSpec(len(specs), res, width, width, 1, self.candidates))
    return specs

  def derive(self, choices, name: str | None = None) -> TreeNetConfig:
    from proxyless_tf.families.pyramid_tree.config import TreeBlock
    per_cell = self.edges_per_cell
    if len(choices) != self.num_blocks * per_cell:
      raise UserError(f"space {self.name} has {self.num_blocks * per_cell} decisions, got "
                      f"{len(choices)} choices")
    blocks = []
    for b, (width, stride) in enumerate(zip(self.widths(), self.strides())):
      picks = choices[b * per_cell:(b + 1) * per_cell]
      if not all(0 <= int(c) < len(self.candidates) for c in picks):
        raise UserError(f"a choice of block {b} is out of range 0..{len(self.candidates) - 1}")
      ops = [self.candidates[int(c)].op for c in picks]
      blocks.append(TreeBlock(width=width, filters=4 * width, stride=stride,
                              cell=binary_cell(width, stride, ops, self.depth)))
    return TreeNetConfig(blocks=tuple(blocks), name=name or f"{self.name}_searched",
                         input_size=self.input_size, input_channels=self.input_channels,
                         num_classes=self.num_classes, stem_filters=self.stem_filters,
                         dropout=self.dropout, bn_momentum=self.bn_momentum,
                         bn_epsilon=self.bn_epsilon)

  def reference_candidate(self) -> int:
    """sep_3x3 (the plain depthwise-separable edge) where the space has it, else the first."""
    names = [c.name for c in self.candidates]
    return names.index("sep_3x3") if "sep_3x3" in names else 0

  def largest_arch(self) -> TreeNetConfig:
    from proxyless_tf.arch.stats import totals
    best = max(range(len(self.candidates)),
               key=lambda i: totals(self.derive([i] * len(self.mixed_ops())))["macs"])
    return self.derive([best] * len(self.mixed_ops()), name=f"{self.name}_largest")


TREE_SPACES = {
    # The paper's CIFAR-10 space: the Proxyless-G net's shape (54 blocks, widths 16 + 84).
    "cifar_tree": TreeSearchSpace(name="cifar_tree", blocks_per_stage=18),
    # For this CPU: 2 blocks per stage, widths 16 -> 32, 6 searchable edges per cell.
    "small_tree": TreeSearchSpace(name="small_tree", blocks_per_stage=2, stem_filters=16,
                                  alpha=16, depth=2, input_channels=1),
    # For tests: 1 block per stage, 2 edges per cell, 3 candidates.
    "tiny_tree": TreeSearchSpace(name="tiny_tree", blocks_per_stage=1, stem_filters=8, alpha=8,
                                 depth=1, input_size=16, input_channels=1,
                                 candidates=(EdgeCandidate("sep_3x3"), EdgeCandidate("identity"),
                                             EdgeCandidate("max_3x3"))),
}
