"""The MobileNetV3-like search space: a fixed stem and first block, then per searchable block one
decision over kernel x expansion x squeeze-and-excite x activation (TuNAS's
`mobile_search_space_v3` choices, as one mixed op per block in ProxylessNAS's way), with `zero`
where the block may be skipped.

The interface is the other families' spaces' (`mixed_ops`, `derive`, `with_task`, `with_width`,
`reference_*`), so the supernet, the search loop and the cost models treat it alike. A decision
is a `MixedOpSpec` whose candidates are `V3Candidate`s; `plan()` lists every block in order, a
fixed `V3Block` or a decision, which is what the one builder (`builder.py`) walks.
"""

from __future__ import annotations

import dataclasses
import itertools

from proxyless_tf.arch.config import conv_output_size, make_divisible
from proxyless_tf.errors import UserError
from proxyless_tf.families.mobilenet_v3.config import (ACTIVATIONS, FAMILY, V3Block, V3NetConfig,
                                                       has_residual)
from proxyless_tf.space.space import MixedOpSpec, SpaceMethods


@dataclasses.dataclass(frozen=True)
class V3Candidate:
  """One block choice (kernel, expansion, SE, activation), or `zero` (kernel 0)."""

  kernel_size: int = 0
  expand_ratio: float = 0
  se: bool = False
  activation: str = "relu"

  @property
  def is_zero(self) -> bool:
    return self.kernel_size == 0

  @property
  def name(self) -> str:
    if self.is_zero:
      return "zero"
    return (f"k{self.kernel_size}_e{self.expand_ratio:g}{'_se' if self.se else ''}"
            f"_{self.activation}")

  def to_config(self) -> dict:
    if self.is_zero:
      return {"zero": True}
    return {"kernel_size": self.kernel_size, "expand_ratio": self.expand_ratio, "se": self.se,
            "activation": self.activation}

  @classmethod
  def from_config(cls, value: dict) -> "V3Candidate":
    return cls() if value.get("zero") else cls(**value)

  def layer(self, filters: int, strides: int, name: str, bn_momentum: float = 0.99,
            bn_epsilon: float = 1e-3, padding: str = "same"):
    """The candidate's own layer in a mixed op (no residual: the mixed op adds the shared skip)."""
    del padding  # the family pads as TensorFlow does
    from proxyless_tf.families.mobilenet_v3.layers import InvertedResidualV3
    return InvertedResidualV3(filters, self.kernel_size, strides, self.expand_ratio, self.se,
                              self.activation, residual=False, bn_momentum=bn_momentum,
                              bn_epsilon=bn_epsilon, name=name)

  def block(self, filters: int, stride: int) -> V3Block:
    if self.is_zero:
      return V3Block(filters=filters, stride=stride, zero=True)
    return V3Block(filters=filters, stride=stride, kernel_size=self.kernel_size,
                   expand_ratio=self.expand_ratio, se=self.se, activation=self.activation)


def grid(kernels=(3, 5, 7), expansions=(3, 6), se=(False, True), activations=ACTIVATIONS):
  """Every combination of the per-block choices, as candidates."""
  return tuple(V3Candidate(k, e, s, a)
               for k, e, s, a in itertools.product(kernels, expansions, se, activations))


@dataclasses.dataclass(frozen=True)
class V3SearchSpace(SpaceMethods):
  """stem (3x3 s2, h-swish) -> fixed first block (k3 e1, ReLU) -> searchable stages -> head."""

  name: str
  stage_widths: tuple[int, ...]
  stage_depths: tuple[int, ...]
  stage_strides: tuple[int, ...]
  candidates: tuple[V3Candidate, ...] = grid()
  input_size: int = 224
  input_channels: int = 3
  num_classes: int = 1000
  stem_filters: int = 16
  stem_stride: int = 2
  first_block_filters: int = 16
  head_filters: int = 960
  feature_filters: int = 1280
  se_ratio: float = 0.25
  dropout: float = 0.0
  bn_momentum: float = 0.99
  bn_epsilon: float = 1e-3
  padding: str = "same"
  family: str = FAMILY

  def __post_init__(self):
    if not len(self.stage_widths) == len(self.stage_depths) == len(self.stage_strides):
      raise UserError(f"space {self.name}: stage widths, depths and strides differ in length")
    if any(c.is_zero for c in self.candidates):
      raise UserError(f"space {self.name}: list block candidates only; `zero` is added where "
                      "legal")

  def with_width(self, multiplier: float):
    if multiplier == 1.0:
      return self
    if not multiplier > 0:
      raise UserError(f"--width_mult must be > 0, got {multiplier}")
    scale = lambda c: make_divisible(c * multiplier)  # noqa: E731
    return dataclasses.replace(
        self, stem_filters=scale(self.stem_filters),
        first_block_filters=scale(self.first_block_filters),
        stage_widths=tuple(scale(w) for w in self.stage_widths),
        head_filters=scale(self.head_filters))

  # -- decisions -----------------------------------------------------------------------------------

  def first_block(self) -> V3Block:
    return V3Block(filters=self.first_block_filters, stride=1, kernel_size=3, expand_ratio=1)

  def mixed_ops(self) -> list[MixedOpSpec]:
    return [slot for slot in self.plan() if isinstance(slot, MixedOpSpec)]

  def plan(self) -> list:
    """Every block in order: the fixed first block (a `V3Block`), then one decision per
    searchable block (a `MixedOpSpec`, `zero` among its candidates where the block may be
    skipped)."""
    res = conv_output_size(self.input_size, self.stem_stride)
    channels, slots, index = self.first_block_filters, [self.first_block()], 0
    for width, depth, first_stride in zip(self.stage_widths, self.stage_depths,
                                          self.stage_strides):
      for i in range(depth):
        stride = first_stride if i == 0 else 1
        skippable = i > 0 and has_residual(channels, V3Block(width, stride))
        candidates = self.candidates + ((V3Candidate(),) if skippable else ())
        slots.append(MixedOpSpec(index, res, channels, width, stride, candidates))
        index += 1
        res, channels = conv_output_size(res, stride), width
    return slots

  def derive(self, choices, name: str | None = None) -> V3NetConfig:
    blocks = [self.first_block()] + [candidate.block(spec.filters, spec.stride)
                                     for spec, candidate in self.chosen(choices)]
    return V3NetConfig(
        blocks=tuple(blocks), name=name or f"{self.name}_searched", input_size=self.input_size,
        input_channels=self.input_channels, num_classes=self.num_classes,
        stem_filters=self.stem_filters, stem_stride=self.stem_stride,
        head_filters=self.head_filters, feature_filters=self.feature_filters,
        se_ratio=self.se_ratio, dropout=self.dropout, bn_momentum=self.bn_momentum,
        bn_epsilon=self.bn_epsilon)

  def reference_candidate(self) -> int:
    """MobileNetV2's block (k3 e6, no SE, ReLU) where the space has it, else the smallest kernel
    at the largest expansion, plain before SE and ReLU before h-swish."""
    return min(range(len(self.candidates)), key=lambda i: (
        self.candidates[i].kernel_size != 3 or self.candidates[i].expand_ratio != 6,
        self.candidates[i].kernel_size, -self.candidates[i].expand_ratio,
        self.candidates[i].se, self.candidates[i].activation != "relu"))

  def largest_arch(self) -> V3NetConfig:
    """Every decision at its costliest candidate (widest, largest kernel, SE, h-swish)."""
    biggest = max(range(len(self.candidates)), key=lambda i: (
        self.candidates[i].expand_ratio, self.candidates[i].kernel_size, self.candidates[i].se,
        self.candidates[i].activation == "hswish"))
    return self.derive([biggest] * len(self.mixed_ops()), name=f"{self.name}_largest")


V3_SPACES = {
    # MobileNetV3-Large's stage widths and strides, four searchable blocks per stage (the
    # `proxyless` space's depth), 3 kernels x 2 expansions x SE on/off x ReLU/h-swish = 24
    # candidates per block (+ zero).
    "mobilenet_v3": V3SearchSpace(
        name="mobilenet_v3", stage_widths=(24, 40, 80, 112, 160), stage_depths=(4, 4, 4, 4, 4),
        stage_strides=(2, 2, 2, 1, 2)),
    # The same shape for 32x32 grey inputs on a CPU (Fashion-MNIST): the stem keeps the size.
    "small_v3": V3SearchSpace(
        name="small_v3", stage_widths=(24, 40, 64, 96), stage_depths=(2, 3, 3, 2),
        stage_strides=(2, 2, 2, 1), candidates=grid(kernels=(3, 5), expansions=(3, 6)),
        input_size=32, input_channels=1, num_classes=10, stem_stride=1, head_filters=256,
        feature_filters=512),
    # For tests: three decisions over four candidates (plus zero) on 16x16 inputs.
    "tiny_v3": V3SearchSpace(
        name="tiny_v3", stage_widths=(16, 24), stage_depths=(2, 1), stage_strides=(2, 1),
        candidates=(V3Candidate(3, 3, False, "relu"), V3Candidate(3, 3, True, "hswish"),
                    V3Candidate(5, 6, False, "hswish"), V3Candidate(5, 6, True, "relu")),
        input_size=16, input_channels=1, num_classes=10, stem_filters=8, stem_stride=1,
        first_block_filters=8, head_filters=32, feature_filters=64),
}
