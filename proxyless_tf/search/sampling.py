"""Path sampling inside tf.function from a checkpointed tf.random.Generator (resumable RNG)."""

from __future__ import annotations

import tensorflow as tf


def _seed(generator: tf.random.Generator) -> tf.Tensor:
  return generator.make_seeds(1)[:, 0]


def sample_index(generator, logits) -> tf.Tensor:
  return tf.cast(tf.random.stateless_categorical(logits[None], 1, seed=_seed(generator))[0, 0],
                 tf.int32)


def sample_pair(generator, logits) -> tf.Tensor:
  """Two distinct indices, multinomial without replacement (Gumbel top-2 has that distribution)."""
  u = tf.random.stateless_uniform(tf.shape(logits), seed=_seed(generator), minval=1e-10, maxval=1.0)
  gumbel = -tf.math.log(-tf.math.log(u))
  return tf.cast(tf.math.top_k(logits + gumbel, k=2).indices, tf.int32)


def sample_paths(generator, mixed_ops, mode: str = "single", uniform=False) -> None:
  """Sets each op's `active` (and `pair` in `two` mode) from softmax(alpha), or uniformly.

  `uniform` may be a bool tensor: warm-up and search steps then share one traced program.
  Eagerly (the search's steps) it is read once on the host: the same logits with fewer small
  ops per mixed op (`cifar_tree` has 756)."""
  on_host = tf.executing_eagerly() or isinstance(uniform, bool)
  if on_host:
    uniform = bool(uniform)
  for op in mixed_ops:
    alpha = tf.convert_to_tensor(op.alpha)
    if on_host:
      logits = tf.zeros_like(alpha) if uniform else alpha
    else:
      logits = tf.where(tf.cast(uniform, tf.bool), tf.zeros_like(alpha), alpha)
    if mode == "two":
      pair = sample_pair(generator, logits)
      op.pair.assign(pair)
      op.active.assign(tf.gather(pair, sample_index(generator, tf.gather(logits, pair))))
    else:
      op.active.assign(sample_index(generator, logits))
