"""Offline data sources on small data the tests make: IDX files, image folders, TFRecords, tfds."""

import gzip
import os

import numpy as np
import pytest

from conftest import make_synthetic_dataset, write_idx
from proxyless_tf.data import held_out_split, load_dataset, make_dataset
from proxyless_tf.data.sources import read_idx
from proxyless_tf.errors import UserError


def test_fashion_mnist_local_reads_idx_files(fashion_like_dir):
  data = load_dataset("fashion_mnist_local", fashion_like_dir)
  expected = make_synthetic_dataset(per_class=30, size=28)
  assert data.image_shape == (28, 28, 1) and data.num_classes == 10
  np.testing.assert_array_equal(data.train.images[..., 0], expected.train.images[..., 0])
  np.testing.assert_array_equal(data.test.labels, expected.test.labels)


def test_idx_errors_are_clear(tmp_path):
  with pytest.raises(UserError, match="Fashion-MNIST not found.*apt-get install dataset-fashion-mnist"):
    load_dataset("fashion_mnist_local", str(tmp_path))
  bad = tmp_path / "x.gz"
  with gzip.open(bad, "wb") as f:
    f.write(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
  with pytest.raises(UserError, match="truncated"):
    read_idx(str(bad))
  bad.write_bytes(b"not gzip")
  with pytest.raises(UserError, match="cannot read IDX"):
    read_idx(str(bad))
  plain = tmp_path / "y.idx"
  write_idx(plain, np.arange(6).reshape(2, 3))
  np.testing.assert_array_equal(read_idx(str(plain)), np.arange(6).reshape(2, 3))


def test_image_folder(tmp_path):
  import tensorflow as tf
  for split in ("train", "test"):
    for cls, value in (("cat", 10), ("dog", 200)):
      directory = tmp_path / split / cls
      directory.mkdir(parents=True)
      for i in range(3):
        image = np.full((8, 8, 3), value + i, np.uint8)
        (directory / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())
  data = load_dataset(f"folder:{tmp_path}")
  assert data.num_classes == 2 and data.image_shape == (8, 8, 3) and len(data.train) == 6
  assert data.train.images[data.train.labels == 1].min() >= 200
  with pytest.raises(UserError, match="does not exist"):
    load_dataset(f"folder:{tmp_path / 'nope'}")


def test_tfrecords(tmp_path):
  import tensorflow as tf
  for split, n in (("train", 5), ("test", 2)):
    with tf.io.TFRecordWriter(str(tmp_path / f"data-{split}-00000.tfrecord")) as writer:
      for i in range(n):
        image = tf.io.encode_png(np.full((6, 6, 1), i * 20, np.uint8)).numpy()
        example = tf.train.Example(features=tf.train.Features(feature={
            "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image])),
            "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 3]))}))
        writer.write(example.SerializeToString())
  data = load_dataset(f"tfrecord:{tmp_path}/data")
  assert len(data.train) == 5 and len(data.test) == 2 and data.num_classes == 3
  assert data.train.images[4].max() == 80
  with pytest.raises(UserError, match="no TFRecord files"):
    load_dataset(f"tfrecord:{tmp_path}/other")


def test_tfds_without_prepared_data_fails_fast(tmp_path, capfd):
  with pytest.raises(UserError, match="not prepared.*never downloads"):
    load_dataset("mnist", str(tmp_path))
  # a half-made version folder (an interrupted `tfds build`): tfds warns before the error; the
  # one line the user sees is ours
  (tmp_path / "mnist" / "3.0.1").mkdir(parents=True)
  capfd.readouterr()
  with pytest.raises(UserError, match="with any --target .* in minutes on a CPU: "
                                      "--dataset=fashion_mnist_local"):
    load_dataset("mnist", str(tmp_path))
  assert "dataset_info.json" not in capfd.readouterr().err


def test_held_out_split_is_per_class_and_fixed(synthetic_dataset):
  train, valid = held_out_split(synthetic_dataset.train, 5, seed=3)
  assert len(valid) == 50 and np.all(np.bincount(valid.labels) == 5)
  assert len(train) + len(valid) == len(synthetic_dataset.train)
  _, again = held_out_split(synthetic_dataset.train, 5, seed=3)
  np.testing.assert_array_equal(valid.images, again.images)
  with pytest.raises(UserError, match="lower --valid_per_class"):
    held_out_split(synthetic_dataset.train, 30)


def test_pipeline_resizes_and_normalizes(synthetic_dataset):
  x, y = next(iter(make_dataset(synthetic_dataset.train, 8, 32, 3, training=False)))
  assert x.shape == (8, 32, 32, 3) and y.shape == (8,)
  assert -1.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
