"""CIFAR-10 as users have it, nothing downloaded: the `cifar-10-batches-py` pickles and a
tensorflow-datasets `cifar10` prepared in a data dir (both made small here); cutout."""

import os
import pickle

import numpy as np
import pytest

from proxyless_tf.data import load_dataset
from proxyless_tf.errors import UserError

NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _images(n, seed):
  rng = np.random.default_rng(seed)
  return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 10


def _write_pickles(folder, per_batch=6):
  folder.mkdir(parents=True)
  batches = {f"data_batch_{i}": _images(per_batch, i) for i in range(1, 6)}
  batches["test_batch"] = _images(4, 9)
  for name, (images, labels) in batches.items():
    # the authors' layout: rows of 1024 red, 1024 green, 1024 blue values; bytes keys
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    with open(folder / name, "wb") as f:
      pickle.dump({b"batch_label": name.encode(), b"labels": [int(v) for v in labels],
                   b"data": data, b"filenames": [b"x.png"] * len(images)}, f, protocol=2)
  with open(folder / "batches.meta", "wb") as f:
    pickle.dump({b"label_names": [n.encode() for n in NAMES], b"num_vis": 3072}, f, protocol=2)
  return batches


def test_cifar10_python_batches_load_in_nhwc_with_class_names(tmp_path):
  batches = _write_pickles(tmp_path / "cifar-10-batches-py")
  for data_dir in (tmp_path, tmp_path / "cifar-10-batches-py"):
    data = load_dataset("cifar10", str(data_dir))
    assert data.train.images.shape == (30, 32, 32, 3) and data.test.images.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(data.train.images[:6], batches["data_batch_1"][0])
    np.testing.assert_array_equal(data.test.labels, batches["test_batch"][1])
    assert data.class_names == NAMES and data.num_classes == 10


def test_cifar10_pickle_problems_are_one_line(tmp_path):
  _write_pickles(tmp_path / "c")
  os.remove(tmp_path / "c" / "data_batch_3")
  with pytest.raises(UserError, match="data_batch_3 is missing"):
    load_dataset("cifar10", str(tmp_path / "c"))
  _write_pickles(tmp_path / "d")
  with open(tmp_path / "d" / "test_batch", "wb") as f:
    pickle.dump({b"data": os.system}, f)  # a pickle that would call a function
  with pytest.raises(UserError, match="cannot read CIFAR-10 batch"):
    load_dataset("cifar10", str(tmp_path / "d"))
  with pytest.raises(UserError, match="CIFAR-10 not found") as e:
    load_dataset("cifar10", str(tmp_path / "empty"))
  assert "\n" not in str(e.value)


def test_cifar10_prepared_by_tensorflow_datasets_loads(tmp_path):
  import toy_tfds
  binary = tmp_path / "download" / "cifar-10-batches-bin"
  binary.mkdir(parents=True)
  images = {}
  for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
    x, y = _images(3, i)
    images[name] = x
    records = np.concatenate([y[:, None].astype(np.uint8),
                              x.transpose(0, 3, 1, 2).reshape(3, 3072)], axis=1)
    (binary / name).write_bytes(records.tobytes())
  (binary / "batches.meta.txt").write_text("\n".join(NAMES) + "\n")
  toy_tfds.CIFAR_BINARY_DIR = str(tmp_path / "download")
  toy_tfds.LocalCifar10(data_dir=str(tmp_path / "tfds")).download_and_prepare()
  data = load_dataset("cifar10", str(tmp_path / "tfds"))
  assert data.train.images.shape == (15, 32, 32, 3) and data.num_classes == 10
  assert data.class_names == NAMES
  # tfds orders by its own keys: the test images are the three written, in some order
  got = sorted(map(bytes, data.test.images.reshape(3, -1)))
  assert got == sorted(map(bytes, images["test_batch.bin"].reshape(3, -1)))


def test_cutout_blanks_one_clipped_square_per_image_reproducibly():
  import tensorflow as tf
  from proxyless_tf.data.pipeline import cutout
  x = tf.ones((64, 32, 32, 3))
  a = cutout(x, 16, tf.constant([1, 2], tf.int64)).numpy()
  b = cutout(x, 16, tf.constant([1, 2], tf.int64)).numpy()
  np.testing.assert_array_equal(a, b)
  holes = (a[..., 0] == 0)
  per_image = holes.reshape(64, -1).sum(1)
  assert per_image.max() == 16 * 16 and 0 < per_image.min() <= 16 * 16  # clipped at borders
  for image in holes:  # each hole is one rectangle
    rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
    assert image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()
    assert image.sum() == len(rows) * len(cols)
  assert (a[..., 0] == a[..., 2]).all()  # the same square on every channel
