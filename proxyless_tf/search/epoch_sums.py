"""Sums over the epoch in progress, by name: what an epoch's row averages.

They live in one checkpointed float64 vector (its layout is the checkpoint's, so runs saved
before this module resume), so an epoch interrupted by a kill reports the same means as if it
had not been."""

from __future__ import annotations

import tensorflow as tf

FIELDS = ("loss", "accuracy", "steps", "arch_loss", "arch_steps")  # the vector's layout


class EpochSums:

  def __init__(self):
    self.variable = tf.Variable(tf.zeros(len(FIELDS), tf.float64), trainable=False,
                                name="epoch_sums")

  def add(self, **values: float) -> None:
    """Adds to the named sums (`loss=..., accuracy=..., steps=1`); the others stay."""
    unknown = set(values) - set(FIELDS)
    if unknown:
      raise KeyError(f"no epoch sums named {sorted(unknown)}; known: {FIELDS}")
    self.variable.assign_add(tf.constant([float(values.get(f, 0.0)) for f in FIELDS], tf.float64))

  def read(self) -> dict[str, float]:
    return dict(zip(FIELDS, (float(v) for v in self.variable.numpy())))

  def reset(self) -> None:
    self.variable.assign(tf.zeros(len(FIELDS), tf.float64))
