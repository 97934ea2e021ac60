"""uint8 images -> normalized float batches at the network's input size, as tf.data pipelines."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from proxyless_tf.data.sources import Split
from proxyless_tf.errors import UserError


def match_channels(x, channels: int):
  """Gray -> the network's channels by repetition, color -> gray by the mean."""
  have = x.shape[-1]
  if have == channels:
    return x
  if have == 1:
    return tf.repeat(x, channels, axis=-1)
  if channels == 1:
    return tf.reduce_mean(x, axis=-1, keepdims=True)
  raise UserError(f"cannot map {have}-channel images to a {channels}-channel network input")


def normalize(images, input_size: int, channels: int):
  """uint8 NHWC -> float32 in [-1, 1], resized to `input_size` and matched to `channels`."""
  x = match_channels(tf.cast(images, tf.float32) / 127.5 - 1.0, channels)
  if x.shape[1] != input_size or x.shape[2] != input_size:
    x = tf.image.resize(x, (input_size, input_size))
  return x


def _augment(x, pad: int, seed):
  """Random crop after zero padding, and horizontal flip: the usual small-image augmentation.

  Stateless, keyed by `seed` (2 ints: the run's seed and the batch's number): the same batch
  gets the same crop and flips in every run, whatever the thread interleaving of a parallel map
  and after a resume (a stateful random op would restart its sequence, or race across threads).
  """
  size = tf.shape(x)[1]
  crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
  x = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], constant_values=-1.0)
  x = tf.image.stateless_random_crop(x, tf.stack([tf.shape(x)[0], size, size, tf.shape(x)[3]]),
                                     seed=crop_seed)
  return tf.image.stateless_random_flip_left_right(x, seed=flip_seed)


def cutout(x, size: int, seed):
  """Cutout (DeVries & Taylor 2017, the "c/o" of the CIFAR results): one `size` x `size` square
  per image, centred anywhere (clipped at the border), set to 0, the middle of the normalized
  range. Stateless like `_augment`, keyed by `seed`."""
  shape = tf.shape(x)
  centres = tf.random.stateless_uniform([shape[0], 2], seed, 0, shape[1], tf.int32)
  first = centres - size // 2  # the square covers [centre - size // 2, + size)
  rows = tf.range(shape[1])[None, :] - first[:, :1]
  cols = tf.range(shape[2])[None, :] - first[:, 1:]
  inside_r = (rows >= 0) & (rows < size)  # (N, H)
  inside_c = (cols >= 0) & (cols < size)  # (N, W)
  hole = tf.logical_and(inside_r[:, :, None], inside_c[:, None, :])[..., None]
  return tf.where(hole, tf.zeros_like(x), x)


def make_dataset(split: Split, batch_size: int, input_size: int, channels: int, *,
                 training: bool, seed: int = 0, repeat: bool | None = None,
                 cutout_size: int = 0) -> tf.data.Dataset:
  """Batches for Keras `fit` / `evaluate`; the same `seed` gives the same batches, crops and flips
  (the order of a seeded shuffle is fixed, the augmentation keyed by the batch's number).
  `cutout_size` > 0 adds cutout to the training batches."""
  ds = tf.data.Dataset.from_tensor_slices((split.images, split.labels))
  if training:
    ds = ds.shuffle(min(len(split), 50_000), seed=seed, reshuffle_each_iteration=True)
  if repeat if repeat is not None else training:
    ds = ds.repeat()
  ds = ds.batch(batch_size, drop_remainder=training).enumerate()

  def prep(index, batch):
    images, labels = batch
    x = normalize(images, input_size, channels)
    if training:
      key = tf.stack([tf.cast(seed, tf.int64), index])
      x = _augment(x, max(1, input_size // 8), key)
      if cutout_size:
        x = cutout(x, cutout_size, key + tf.constant([0, 1 << 40], tf.int64))
    return x, labels

  return ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def epoch_batches(split: Split, batch_size: int, input_size: int, channels: int, *, seed: int,
                  start_epoch: int, epochs: int, cutout_size: int = 0) -> tf.data.Dataset:
  """Training batches for Keras `fit(steps_per_epoch=len(split) // batch_size)` from epoch
  `start_epoch` to `epochs`: epoch e is shuffled with its own seed and batch number b of the
  whole run keys its crops, flips and cutout, so a training resumed at epoch e sees exactly the
  batches an unstopped one would (a reshuffling dataset restarts its sequence in a new process)."""
  per_epoch = len(split) // batch_size
  if per_epoch < 1:
    raise UserError(f"{len(split)} examples are fewer than one batch of {batch_size}; "
                    "lower --batch_size")
  images, labels = tf.constant(split.images), tf.constant(split.labels)
  usable = per_epoch * batch_size

  def one_epoch(epoch):  # a permutation keyed by (seed, epoch): no shuffle state to restart
    order = tf.argsort(tf.random.stateless_uniform(
        [len(split)], tf.stack([tf.cast(seed, tf.int64), epoch])))[:usable]
    return tf.data.Dataset.from_tensor_slices(order).batch(batch_size).enumerate().map(
        lambda i, idx: (epoch * per_epoch + i, (tf.gather(images, idx), tf.gather(labels, idx))))

  def prep(number, batch):
    images, labels = batch
    key = tf.stack([tf.cast(seed, tf.int64), number])
    x = _augment(normalize(images, input_size, channels), max(1, input_size // 8), key)
    if cutout_size:
      x = cutout(x, cutout_size, key + tf.constant([0, 1 << 40], tf.int64))
    return x, labels

  return (tf.data.Dataset.range(start_epoch, epochs).flat_map(one_epoch)
          .map(prep, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))


def sample_batch(split: Split, count: int, input_size: int, channels: int, seed: int = 0) -> np.ndarray:
  """A fixed normalized batch, e.g. for int8 calibration or BN statistics."""
  rng = np.random.default_rng(seed)
  indices = rng.choice(len(split), min(count, len(split)), replace=False)
  return normalize(split.images[indices], input_size, channels).numpy()


def batch_stream(split: Split, batch_size: int, input_size: int, channels: int, *, seed: int,
                 start: int = 0, training: bool = True, per_epoch: int | None = None):
  """Endless batches in an order fixed by `seed`; `start` skips to batch number `start`.

  Epoch e is shuffled with seed + e, so a resumed run sees exactly the batches it would have seen:
  resuming costs a skip, not a saved iterator (which would hold the whole shuffle buffer).
  """
  per_epoch = per_epoch or len(split) // batch_size
  if per_epoch < 1 or len(split) < batch_size:
    raise UserError(f"{len(split)} examples are fewer than one batch of {batch_size}; "
                    "lower --batch_size")
  epoch, offset = divmod(start, per_epoch)
  pad = max(1, input_size // 8)

  while True:
    def prep(index, batch, epoch=epoch):
      images, labels = batch
      x = normalize(images, input_size, channels)
      if training:  # keyed by (seed, batch number in the whole stream): same after a resume
        number = tf.cast(epoch * per_epoch, tf.int64) + index
        x = _augment(x, pad, tf.stack([tf.cast(seed, tf.int64), number]))
      return x, labels

    ds = (tf.data.Dataset.from_tensor_slices((split.images, split.labels))
          .shuffle(len(split), seed=seed + epoch, reshuffle_each_iteration=False)
          .repeat()  # an epoch of `per_epoch` batches may be longer than the split
          .batch(batch_size, drop_remainder=True).take(per_epoch).enumerate().skip(offset)
          .map(prep, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2))
    yield from ds
    epoch, offset = epoch + 1, 0
