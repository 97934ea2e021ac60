"""The MBConv family's search spaces: a MobileNetV2-style backbone whose every searchable block is
one decision over MBConv (kernel, expand) candidates, plus `zero` where the block may be skipped.
"""

from __future__ import annotations

import dataclasses

from proxyless_tf.arch.config import conv_output_size, make_divisible
from proxyless_tf.families.mbconv.config import ZERO, ArchConfig, Block
from proxyless_tf.errors import UserError
from proxyless_tf.space.space import MixedOpSpec, SpaceMethods


@dataclasses.dataclass(frozen=True)
class Candidate:
  """An MBConv (kernel, expand) or `zero` (the block is skipped)."""

  kernel_size: int = 0
  expand_ratio: int = 0

  @property
  def is_zero(self) -> bool:
    return self.kernel_size == 0

  @property
  def name(self) -> str:
    return ZERO if self.is_zero else f"k{self.kernel_size}_e{self.expand_ratio}"

  def to_config(self):
    return (self.kernel_size, self.expand_ratio)

  def layer(self, filters: int, strides: int, name: str, bn_momentum: float = 0.9,
            bn_epsilon: float = 1e-3, padding: str = "same"):
    """The candidate's own layer in a mixed op (no residual: the mixed op adds the shared skip)."""
    from proxyless_tf.families.mbconv.layers import MBConv
    return MBConv(filters, self.kernel_size, strides, self.expand_ratio, residual=False,
                  bn_momentum=bn_momentum, bn_epsilon=bn_epsilon, padding=padding, name=name)

  @classmethod
  def nested_layer(cls, candidates, filters: int, strides: int, name: str, **bn):
    """One layer whose kernels every candidate cuts its own from (--weight_sharing=nested)."""
    if any(c.expand_ratio == 1 for c in candidates):
      raise UserError("--weight_sharing=nested needs expand ratios > 1 (an e1 block has no "
                      "expand conv to share); use --weight_sharing=independent")
    from proxyless_tf.families.mbconv.nested import NestedMBConvs
    return NestedMBConvs(filters, strides, [(c.kernel_size, c.expand_ratio) for c in candidates],
                         name=name, **bn)

  def block(self, filters: int, stride: int) -> Block:
    if self.is_zero:
      return Block(filters=filters, stride=stride, type=ZERO)
    return Block(filters=filters, stride=stride, kernel_size=self.kernel_size,
                 expand_ratio=self.expand_ratio)


ZERO_CANDIDATE = Candidate()
DEFAULT_CANDIDATES = tuple(Candidate(k, e) for k in (3, 5, 7) for e in (3, 6))


@dataclasses.dataclass(frozen=True)
class SearchSpace(SpaceMethods):
  """MobileNetV2-style backbone: stem -> fixed first MBConv (e1 k3) -> searchable stages -> head."""

  name: str
  stage_widths: tuple[int, ...]
  stage_depths: tuple[int, ...]
  stage_strides: tuple[int, ...]
  input_size: int = 224
  input_channels: int = 3
  num_classes: int = 1000
  stem_filters: int = 32
  stem_stride: int = 2
  first_block_filters: int = 16
  head_filters: int = 1280
  candidates: tuple[Candidate, ...] = DEFAULT_CANDIDATES
  dropout: float = 0.0
  bn_momentum: float = 0.9
  bn_epsilon: float = 1e-3
  padding: str = "same"  # of strided convs; see `ArchConfig.padding`

  def __post_init__(self):
    if not len(self.stage_widths) == len(self.stage_depths) == len(self.stage_strides):
      raise UserError(f"space {self.name}: stage widths, depths and strides differ in length")
    if any(c.is_zero for c in self.candidates):
      raise UserError(f"space {self.name}: list MBConv candidates only; `zero` is added where legal")

  def with_width(self, multiplier: float) -> "SearchSpace":
    if multiplier == 1.0:
      return self
    if multiplier <= 0:
      raise UserError(f"--width_mult must be > 0, got {multiplier}")
    scale = lambda c: make_divisible(c * multiplier)  # noqa: E731
    return dataclasses.replace(
        self, stem_filters=scale(self.stem_filters),
        first_block_filters=scale(self.first_block_filters),
        stage_widths=tuple(scale(w) for w in self.stage_widths),
        head_filters=scale(self.head_filters) if multiplier > 1 else self.head_filters)

  def first_block(self) -> Block:
    return Block(filters=self.first_block_filters, stride=1, kernel_size=3, expand_ratio=1)

  def plan(self) -> list:
    """Every block in order: the fixed first block, then one decision per searchable block (what
    the one builder walks, `builder.mbconv_layers`)."""
    return [self.first_block(), *self.mixed_ops()]

  def mixed_ops(self) -> list[MixedOpSpec]:
    res = conv_output_size(conv_output_size(self.input_size, self.stem_stride), 1)
    channels = self.first_block_filters
    specs = []
    for width, depth, first_stride in zip(self.stage_widths, self.stage_depths, self.stage_strides):
      for i in range(depth):
        stride = first_stride if i == 0 else 1
        residual = i > 0 and stride == 1 and channels == width
        candidates = self.candidates + ((ZERO_CANDIDATE,) if residual else ())
        specs.append(MixedOpSpec(len(specs), res, channels, width, stride, candidates))
        res = conv_output_size(res, stride)
        channels = width
    return specs

  def derive(self, choices, name: str | None = None) -> ArchConfig:
    blocks = [self.first_block()] + [candidate.block(spec.filters, spec.stride)
                                     for spec, candidate in self.chosen(choices)]
    return ArchConfig(
        name=name or f"{self.name}_searched", blocks=tuple(blocks), input_size=self.input_size,
        input_channels=self.input_channels, num_classes=self.num_classes,
        stem_filters=self.stem_filters, stem_stride=self.stem_stride,
        head_filters=self.head_filters, dropout=self.dropout, bn_momentum=self.bn_momentum,
        bn_epsilon=self.bn_epsilon, padding=self.padding)

  def reference_candidate(self) -> int:
    """Index of the space's reference block: k3 e6 (MobileNetV2's) where the space has it, else
    the smallest kernel at the largest expansion among the others."""
    names = [c.name for c in self.candidates]
    if "k3_e6" in names:
      return names.index("k3_e6")
    return min(range(len(self.candidates)),
               key=lambda i: (self.candidates[i].kernel_size, -self.candidates[i].expand_ratio))

  def largest_arch(self) -> ArchConfig:
    """Every decision at its biggest MBConv (the standalone reference of the search benchmarks)."""
    biggest = max(range(len(self.candidates)),
                  key=lambda i: (self.candidates[i].expand_ratio, self.candidates[i].kernel_size))
    return self.derive([biggest] * len(self.mixed_ops()), name=f"{self.name}_largest")


SPACES = {
    # The paper's ImageNet space.
    "proxyless": SearchSpace(
        name="proxyless", stage_widths=(24, 40, 80, 96, 192, 320), stage_depths=(4, 4, 4, 4, 4, 1),
        stage_strides=(2, 2, 2, 1, 2, 1)),
    # The same space as TuNAS defines it (`proxylessnas_search`, google-research `tunas/`): the
    # first searchable stage has 32 channels, as the released proxyless_mobile, not 24. Its
    # shipped `mobile` table is TuNAS's Pixel-1 model (`tables/pixel1_tunas_proxyless_224.json`).
    "proxyless_tunas": SearchSpace(
        name="proxyless_tunas", stage_widths=(32, 40, 80, 96, 192, 320),
        stage_depths=(4, 4, 4, 4, 4, 1), stage_strides=(2, 2, 2, 1, 2, 1)),
    # The same shape for 32x32 inputs on a CPU: one stride-2 stage fewer, narrower, shallower.
    "small": SearchSpace(
        name="small", input_size=32, input_channels=1, num_classes=10, stem_filters=16,
        stem_stride=1, first_block_filters=16, stage_widths=(24, 32, 64, 96),
        stage_depths=(2, 3, 3, 2), stage_strides=(2, 2, 2, 1), head_filters=256),
    # For tests: three decisions over two kernels (plus zero) on 16x16 inputs; tracing a supernet
    # costs seconds per candidate, and the estimators do not depend on how many there are.
    "tiny": SearchSpace(
        name="tiny", input_size=16, input_channels=1, num_classes=10, stem_filters=8,
        first_block_filters=8, stage_widths=(16, 24), stage_depths=(2, 1), stage_strides=(2, 1),
        head_filters=32, candidates=(Candidate(3, 3), Candidate(5, 6))),
}
