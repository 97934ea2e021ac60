"""The ops a network is made of (`OpSpec`): what a latency table prices, one key per op.

Each family keys its own ops (`families/*/ops.py`, found by `OpSpec.kind`); the MBConv family's
keys are the original ProxylessNAS tables' (`expanded_conv-input:56x56x24-output:28x28x40-
expand:6-kernel:5-stride:2-idskip:0`). A latency table
maps these keys to measurements; the FLOPs stand-in maps them to MACs. Both the
predictor (sum over an arch's ops) and the search's expected latency (per mixed op, sum over
candidates weighted by p) enumerate ops through this module, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses

from proxyless_tf.arch.config import conv_output_size


def _family(op):
  """The family that owns an op's kind (its key, MACs, model and features)."""
  from proxyless_tf.families import family_of_op_kind
  return family_of_op_kind(op.kind)


@dataclasses.dataclass(frozen=True)
class OpSpec:
  kind: str  # the family's op kind (MBConv: Conv | expanded_conv | Conv_1 | Logits)
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
  # a family whose ops need more fields subclasses OpSpec (families/*/ops.py)

  @property
  def position_key(self) -> str | None:
    """`block:N/KEY`: the key of a position-specific table entry."""
    return None if self.position is None else f"block:{self.position}/{self.key}"

  @property
  def out_resolution(self) -> int:
    return conv_output_size(self.resolution, self.stride)

  @property
  def key(self) -> str:
    return _family(self).op_key(self)

  @property
  def macs(self) -> int:
    return _family(self).op_macs(self)


def arch_ops(config) -> list[OpSpec]:
  """All ops of a net of any family (its family's `arch_ops`)."""
  from proxyless_tf.families import family_of
  return family_of(config).arch_ops(config)


def space_ops(space) -> tuple[list[OpSpec], list[list[OpSpec | None]]]:
  """(fixed ops, per mixed op the op of each candidate or None for zero) of a search space of any
  family (its family's `space_ops`)."""
  from proxyless_tf.families import family_of
  return family_of(space).space_ops(space)


def all_space_ops(space) -> list[OpSpec]:
  """Every distinct op the space can contain (what a latency table for it must cover)."""
  fixed, candidates = space_ops(space)
  seen, ops = set(), []
  for op in fixed + [op for row in candidates for op in row if op is not None]:
    if op.key not in seen:
      seen.add(op.key)
      ops.append(op)
  return ops
