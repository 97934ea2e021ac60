"""Training batches from in-memory arrays for Keras backends other than TensorFlow.

Under `KERAS_BACKEND=jax` (a GPU machine without TensorFlow) there is no tf.data: a
`keras.utils.PyDataset` serves the same preparation as `data/pipeline.py` in numpy: pixels to
[-1, 1], resized to the net's input and matched to its channels once up front, then per batch
a seeded shuffle, random crop after zero padding, horizontal flip and (optionally) cutout. The
same seed gives the same batches; the numbers differ from the tf.data pipeline's, which draws its
crops with TensorFlow's stateless random ops.
"""

from __future__ import annotations

import keras
import numpy as np

from proxyless_tf.data.sources import Split
from proxyless_tf.errors import UserError


def normalized(images: np.ndarray, input_size: int, channels: int, chunk: int = 4096) -> np.ndarray:
  """uint8 NHWC -> float32 in [-1, 1] at `input_size`, `channels` (as `pipeline.normalize`)."""
  x = images.astype(np.float32) / 127.5 - 1.0
  have = x.shape[-1]
  if have != channels:
    if have == 1:
      x = np.repeat(x, channels, axis=-1)
    elif channels == 1:
      x = x.mean(axis=-1, keepdims=True)
    else:
      raise UserError(f"cannot map {have}-channel images to a {channels}-channel network input")
  if x.shape[1] == input_size and x.shape[2] == input_size:
    return x
  parts = [np.asarray(keras.ops.image.resize(x[i:i + chunk], (input_size, input_size)))
           for i in range(0, len(x), chunk)]
  return np.concatenate(parts).astype(np.float32)


def _augment(x: np.ndarray, pad: int, rng: np.random.Generator, cutout: int) -> np.ndarray:
  n, size = x.shape[0], x.shape[1]
  padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  offsets = rng.integers(0, 2 * pad + 1, size=(n, 2))
  flips = rng.random(n) < 0.5
  out = np.empty_like(x)
  for i, (dy, dx) in enumerate(offsets):
    crop = padded[i, dy:dy + size, dx:dx + size]
    out[i] = crop[:, ::-1] if flips[i] else crop
  if cutout:
    centers = rng.integers(0, size, size=(n, 2))
    half = cutout // 2
    for i, (cy, cx) in enumerate(centers):
      out[i, max(0, cy - half):cy + cutout - half, max(0, cx - half):cx + cutout - half] = 0.0
  return out


class ArrayBatches(keras.utils.PyDataset):
  """(images, one-hot labels) batches of a `Split` for `Model.fit` on any backend."""

  def __init__(self, split: Split, batch_size: int, input_size: int, channels: int,
               num_classes: int, *, training: bool, seed: int = 0, cutout: int = 0):
    super().__init__()
    if len(split) == 0:
      raise UserError("the dataset has no images to train on")
    self.x = normalized(split.images, input_size, channels)
    self.y = np.eye(num_classes, dtype=np.float32)[split.labels]
    self.batch_size, self.training, self.seed, self.cutout = batch_size, training, seed, cutout
    self.pad = max(1, input_size // 8)
    self.epoch = 0
    self._order()

  def _order(self) -> None:
    self.order = (np.random.default_rng([self.seed, self.epoch]).permutation(len(self.y))
                  if self.training else np.arange(len(self.y)))

  def __len__(self) -> int:
    if self.training:  # full batches only, as the tf.data training pipeline
      return max(1, len(self.y) // self.batch_size)
    return -(-len(self.y) // self.batch_size)

  def __getitem__(self, index: int):
    rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
    x = self.x[rows]
    if self.training:
      x = _augment(x, self.pad, np.random.default_rng([self.seed, self.epoch, index]), self.cutout)
    return x, self.y[rows]

  def start_at(self, epoch: int) -> None:
    """A resumed training: the batches of `epoch` come next, as in a run never stopped."""
    self.epoch = epoch
    self._order()

  def on_epoch_end(self) -> None:
    self.epoch += 1
    self._order()
