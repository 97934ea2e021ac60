"""The ops a network is made of, keyed the way the original ProxylessNAS latency tables key them.

  Conv-input:224x224x3-output:112x112x32                              (stem)
  expanded_conv-input:56x56x24-output:28x28x40-expand:6-kernel:5-stride:2-idskip:0
  Conv_1-input:7x7x320-output:7x7x1280                                (1x1 head conv)
  Logits-input:7x7x1280-output:1000                                   (pool + classifier)

Other families key their own ops (`families/*/ops.py`, found by `OpSpec.kind`). A latency table
maps these keys to measurements; the FLOPs stand-in maps them to MACs. Both the
predictor (sum over an arch's ops) and the search's expected latency (per mixed op, sum over
candidates weighted by p) enumerate ops through this module, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses

from proxyless_tf.arch.config import ArchConfig, Block, conv_output_size, has_residual
from proxyless_tf.arch.stats import mbconv_stats


MBCONV_OP_KINDS = ("Conv", "expanded_conv", "Conv_1", "Logits")


def _family(op):
  """The family that owns an op kind outside the MBConv family's (its key and MACs)."""
  from proxyless_tf.families import family_of_op_kind
  return family_of_op_kind(op.kind)


@dataclasses.dataclass(frozen=True)
class OpSpec:
  kind: str  # Conv | expanded_conv | Conv_1 | Logits
  resolution: int
  in_channels: int
  out_channels: int
  kernel_size: int = 1
  expand_ratio: int = 1
  stride: int = 1
  idskip: bool = False
  # Index of the block in the arch (0: the space's fixed first block, i + 1: mixed op i), for
  # tables whose cost depends on where an op sits, not only on its shape (a linear model fit
  # per position, e.g. TuNAS's Pixel-1 model); measured tables ignore it. Not part of `key`.
  position: int | None = dataclasses.field(default=None, compare=False)
  # fields of other families' ops (a tree-cell block's bottleneck width, an edge's op name)
  width: int = 0
  edge: str = ""

  @property
  def position_key(self) -> str | None:
    """`block:N/KEY`: the key of a position-specific table entry."""
    return None if self.position is None else f"block:{self.position}/{self.key}"

  @property
  def out_resolution(self) -> int:
    return conv_output_size(self.resolution, self.stride)

  @property
  def key(self) -> str:
    if self.kind not in MBCONV_OP_KINDS:
      return _family(self).op_key(self)
    inp = f"input:{self.resolution}x{self.resolution}x{self.in_channels}"
    if self.kind == "Logits":
      return f"Logits-{inp}-output:{self.out_channels}"
    out = f"output:{self.out_resolution}x{self.out_resolution}x{self.out_channels}"
    if self.kind == "expanded_conv":
      return (f"expanded_conv-{inp}-{out}-expand:{self.expand_ratio}-kernel:{self.kernel_size}"
              f"-stride:{self.stride}-idskip:{int(self.idskip)}")
    return f"{self.kind}-{inp}-{out}"

  @property
  def macs(self) -> int:
    if self.kind not in MBCONV_OP_KINDS:
      return _family(self).op_macs(self)
    r, o = self.resolution, self.out_resolution
    if self.kind == "Conv":
      return o * o * self.kernel_size ** 2 * self.in_channels * self.out_channels
    if self.kind == "Conv_1":
      return r * r * self.in_channels * self.out_channels
    if self.kind == "Logits":
      return self.in_channels * self.out_channels
    block = Block(self.out_channels, self.stride, self.kernel_size, self.expand_ratio)
    return mbconv_stats(r, self.in_channels, block)[2]


def block_op(resolution: int, in_channels: int, block: Block,
             position: int | None = None) -> OpSpec | None:
  """The op of one block, or None for `zero` (a skipped block costs nothing)."""
  if block.is_zero:
    return None
  return OpSpec("expanded_conv", resolution, in_channels, block.filters, block.kernel_size,
                block.expand_ratio, block.stride, has_residual(in_channels, block), position)


def fixed_ops(input_size: int, input_channels: int, stem_filters: int, stem_stride: int,
              final_resolution: int, last_channels: int, head_filters: int,
              num_classes: int) -> list[OpSpec]:
  return [OpSpec("Conv", input_size, input_channels, stem_filters, 3, 1, stem_stride),
          OpSpec("Conv_1", final_resolution, last_channels, head_filters),
          OpSpec("Logits", final_resolution, head_filters, num_classes)]


def arch_ops(config) -> list[OpSpec]:
  """All ops of a net of any family (its family's `arch_ops`)."""
  from proxyless_tf.families import family_of
  return family_of(config).arch_ops(config)


def mbconv_arch_ops(config: ArchConfig) -> list[OpSpec]:
  """All ops of an MBConv net: stem, each non-zero block, head conv, logits."""
  ops = fixed_ops(config.input_size, config.input_channels, config.stem_filters,
                  config.stem_stride, config.final_resolution, config.blocks[-1].filters,
                  config.head_filters, config.num_classes)
  blocks = [block_op(res, ch, b, i)
            for i, (b, (res, ch)) in enumerate(zip(config.blocks, config.block_inputs()))]
  return ops[:1] + [op for op in blocks if op is not None] + ops[1:]


def space_ops(space) -> tuple[list[OpSpec], list[list[OpSpec | None]]]:
  """(fixed ops, per mixed op the op of each candidate or None for zero) of a search space of any
  family (its family's `space_ops`)."""
  from proxyless_tf.families import family_of
  return family_of(space).space_ops(space)


def mbconv_space_ops(space) -> tuple[list[OpSpec], list[list[OpSpec | None]]]:
  first = space.first_block()
  stem_res = conv_output_size(space.input_size, space.stem_stride)
  specs = space.mixed_ops()
  final_res = conv_output_size(specs[-1].resolution, specs[-1].stride)
  fixed = fixed_ops(space.input_size, space.input_channels, space.stem_filters, space.stem_stride,
                    final_res, specs[-1].filters, space.head_filters, space.num_classes)
  fixed.insert(1, block_op(stem_res, space.stem_filters, first, 0))
  candidates = [[None if c.is_zero else block_op(spec.resolution, spec.in_channels,
                                                 c.block(spec.filters, spec.stride),
                                                 spec.index + 1)
                 for c in spec.candidates] for spec in specs]
  return fixed, candidates


def all_space_ops(space) -> list[OpSpec]:
  """Every distinct op the space can contain (what a latency table for it must cover)."""
  fixed, candidates = space_ops(space)
  seen, ops = set(), []
  for op in fixed + [op for row in candidates for op in row if op is not None]:
    if op.key not in seen:
      seen.add(op.key)
      ops.append(op)
  return ops
