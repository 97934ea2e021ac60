"""A learnable toy dataset made in memory: class c is a bright square at a class-specific place
on noise. Smoke runs, tests and the scale-out benchmark use it where real images would only add
loading time; a net that learns nothing on it is broken."""

from __future__ import annotations

import numpy as np

from proxyless_tf.data import Dataset, Split


def make_synthetic_dataset(per_class: int = 30, size: int = 16, classes: int = 10,
                           seed: int = 0) -> Dataset:
  """`per_class` training and `per_class // 5` (at least 2) test images per class, 1 channel."""
  rng = np.random.default_rng(seed)

  def split(n):
    labels = np.repeat(np.arange(classes), n).astype(np.int32)
    images = rng.integers(0, 60, (len(labels), size, size, 1)).astype(np.uint8)
    for i, c in enumerate(labels):
      r, col = divmod(int(c), 4)
      images[i, 4 * r:4 * r + 4, 4 * col:4 * col + 4] = 255
    return Split(images, labels)

  return Dataset("synthetic", split(per_class), split(max(2, per_class // 5)), classes)
