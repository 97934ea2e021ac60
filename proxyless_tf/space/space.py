"""Search spaces, found by name in every family (`families/*/space.py` define them), and the one
types they share: `MixedOpSpec`, a decision (where it sits, what it may become), and
`SpaceMethods`, what every space does alike.

A found architecture is just the list of chosen candidate indices, one per mixed op, in order;
a space's `derive(choices)` turns it into its family's net config. The latency model and the
supernet both walk `mixed_ops()`, so they agree on what each decision is.
"""

from __future__ import annotations

import dataclasses

from proxyless_tf.errors import UserError


class SpaceMethods:
  """What every family's space (a frozen dataclass with `name`, `candidates`, `input_size`,
  `input_channels`, `num_classes`, `mixed_ops()`, `derive()` and `reference_candidate()`) does
  the same way: set the task, and name its reference net (the reference candidate at every
  decision: what a request like `--target_latency=0.8x` is relative to)."""

  def with_task(self, input_size=None, input_channels=None, num_classes=None):
    return dataclasses.replace(
        self, input_size=input_size or self.input_size,
        input_channels=input_channels or self.input_channels,
        num_classes=num_classes or self.num_classes)

  def chosen(self, choices) -> list:
    """(decision, its chosen candidate) of every decision, in order; a wrong count or an index out
    of range is one line."""
    specs = self.mixed_ops()
    if len(choices) != len(specs):
      raise UserError(f"space {self.name} has {len(specs)} decisions, got {len(choices)} choices")
    for spec, choice in zip(specs, choices):
      if not 0 <= int(choice) < len(spec.candidates):
        raise UserError(f"choice {choice} out of range for mixed op {spec.index}")
    return [(spec, spec.candidates[int(choice)]) for spec, choice in zip(specs, choices)]

  def reference_choices(self) -> list[int]:
    return [self.reference_candidate()] * len(self.mixed_ops())

  def reference_arch(self):
    name = self.candidates[self.reference_candidate()].name.replace("_", "")
    return self.derive(self.reference_choices(), name=f"{self.name}_reference_{name}")


@dataclasses.dataclass(frozen=True)
class MixedOpSpec:
  """One decision: where it sits and what it may become (candidates of its family)."""

  index: int
  resolution: int  # input resolution
  in_channels: int
  filters: int
  stride: int
  candidates: tuple

  @property
  def has_residual(self) -> bool:
    return self.stride == 1 and self.in_channels == self.filters


def space_names() -> list[str]:
  """Every search space, of every family."""
  from proxyless_tf.families import all_spaces
  return sorted(all_spaces())


def spaces_help() -> str:
  """The `--space` flag's help: every family's spaces, as the registry lists them."""
  from proxyless_tf.families import families
  return "Search space preset, by model family: " + "; ".join(
      f"{family.name}: {', '.join(sorted(family.spaces()))}" for family in families()) + "."


def get_space(name: str):
  """A search space of any family by name."""
  from proxyless_tf.families import all_spaces
  spaces = all_spaces()
  if name not in spaces:
    raise UserError(f"unknown search space '{name}'; known: {', '.join(sorted(spaces))}")
  return spaces[name]
