"""What the search needs of any family's supernet (`SupernetArch`), and the one way to build one
(`build_supernet`: the family of the space builds it)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def entropy_nats(probabilities) -> float:
  """Sum over the decisions of each one's entropy (nats): the search's spread over architectures."""
  return float(sum(-(np.asarray(p, np.float64) * np.log(np.asarray(p, np.float64) + 1e-12)).sum()
                   for p in probabilities))


class SupernetArch:
  """What the search needs of a supernet of any space family: its mixed ops (`self.mixed_ops`, in
  the space's decision order), their logits apart from the weights, and the architecture."""

  # -- variable collections ------------------------------------------------------------------------

  @property
  def arch_variables(self) -> list:
    return [op.alpha for op in self.mixed_ops]

  @property
  def weight_variables(self) -> list:
    arch = {id(v) for v in self.arch_variables}
    return [v for v in self.trainable_variables if id(v) not in arch]

  # -- the architecture ----------------------------------------------------------------------------

  def probabilities(self) -> list[np.ndarray]:
    return [tf.nn.softmax(op.alpha).numpy() for op in self.mixed_ops]

  def argmax_choices(self) -> list[int]:
    return [int(np.argmax(op.alpha.numpy())) for op in self.mixed_ops]

  def derive(self, name: str | None = None):
    return self.space.derive(self.argmax_choices(), name=name)

  def set_active(self, choices) -> None:
    for op, choice in zip(self.mixed_ops, choices):
      op.active.assign(int(choice))

  def entropy(self) -> float:
    return entropy_nats(self.probabilities())


def build_supernet(space, weight_sharing: str = "independent"):
  """The supernet of a space of any family (its family's builder)."""
  from proxyless_tf.families import family_of
  return family_of(space).build_supernet(space, weight_sharing)
