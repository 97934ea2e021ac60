"""Streamed datasets (image folders, TFRecords, tensorflow-datasets) on small generated data:
a deterministic, disjoint held-out split by key hash; a resumed stream continues exactly; memory
stays flat as the dataset grows."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from proxyless_tf.data import streaming
from proxyless_tf.data.search_data import open_search_data
from proxyless_tf.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_folder(root, per_class, classes=3, size=16, channels=1, test=True, seed=0):
  from PIL import Image
  rng = np.random.default_rng(seed)
  for split, n in (("train", per_class), ("test", max(2, per_class // 5))) if test else (("", per_class),):
    for c in range(classes):
      folder = os.path.join(root, split, f"class{c}")
      os.makedirs(folder, exist_ok=True)
      for i in range(n):
        image = np.full((size, size, channels), 20 * c, np.uint8)
        image[rng.integers(0, size - 4):, :4] = rng.integers(0, 255)
        Image.fromarray(image.squeeze(-1) if channels == 1 else image).save(
            os.path.join(folder, f"{i:06d}.png"))


def write_tfrecords(prefix, per_split=(60, 15), shards=3):
  rng = np.random.default_rng(1)
  for split, n in zip(("train", "test"), per_split):
    writers = [tf.io.TFRecordWriter(f"{prefix}-{split}-{s:02d}.tfrecord") for s in range(shards)]
    for i in range(n):
      image = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
      example = tf.train.Example(features=tf.train.Features(feature={
          "image": tf.train.Feature(bytes_list=tf.train.BytesList(
              value=[tf.io.encode_png(image).numpy()])),
          "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 4]))}))
      writers[i % shards].write(example.SerializeToString())
    for w in writers:
      w.close()


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
  base = tmp_path_factory.mktemp("streams")
  write_folder(str(base / "folder"), per_class=40)
  write_tfrecords(str(base / "records"))
  from toy_tfds import ToyImages
  ToyImages(data_dir=str(base / "tfds")).download_and_prepare()
  return {"folder": streaming.folder_source(str(base / "folder")),
          "tfrecord": streaming.tfrecord_source(str(base / "records")),
          "tfds": streaming.tfds_source("toy_images", str(base / "tfds"))}


def _keys(split, order_seed=None):
  return [k.decode() for k in split.elements(order_seed).map(lambda k, p, y: k).as_numpy_iterator()]


@pytest.mark.parametrize("kind", ["folder", "tfrecord", "tfds"])
def test_held_out_split_is_deterministic_disjoint_and_spares_the_test_split(sources, kind):
  source = sources[kind]
  splits = streaming.stream_splits(source, valid_fraction=0.2)
  train, valid, test = (_keys(splits[p]) for p in ("train", "valid", "test"))
  everything = _keys(streaming.StreamSplit(source, "all", 0.0, 0.0))  # no filter: the whole split
  assert valid and train and test
  assert not set(train) & set(valid)
  assert sorted(train + valid) == sorted(everything)  # every example lands in exactly one part
  assert not (set(train) | set(valid)) & set(test)
  assert 0.05 < len(valid) / len(everything) < 0.4
  again = streaming.stream_splits(source, valid_fraction=0.2)
  assert _keys(again["valid"]) == valid  # same keys, same order
  shuffled = _keys(splits["train"], order_seed=5)
  assert sorted(shuffled) == sorted(train) and shuffled != train
  assert _keys(splits["train"], order_seed=5) == shuffled  # the order is the seed's


@pytest.mark.parametrize("kind", ["folder", "tfrecord", "tfds"])
def test_a_resumed_stream_continues_exactly(sources, kind):
  split = streaming.stream_splits(sources[kind], valid_fraction=0.2)["train"]
  per_epoch = 3
  whole = streaming.batch_stream(split, 8, 16, 1, seed=7, per_epoch=per_epoch)
  batches = [next(whole) for _ in range(2 * per_epoch + 2)]
  for start in (2, per_epoch + 1):  # inside the first epoch, and across an epoch boundary
    resumed = streaming.batch_stream(split, 8, 16, 1, seed=7, start=start, per_epoch=per_epoch)
    for want in batches[start:start + 3]:
      got = next(resumed)
      np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
      np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
  assert not np.array_equal(batches[0][0].numpy(), batches[per_epoch][0].numpy())


def test_imagenet_preprocessing_crops_at_the_input_size():
  image = tf.cast(tf.reshape(tf.range(40 * 60 * 3) % 255, (40, 60, 3)), tf.uint8)
  seed = tf.constant([1, 2], tf.int64)
  train = streaming.preprocess(image, 24, 3, True, "imagenet", seed)
  again = streaming.preprocess(image, 24, 3, True, "imagenet", seed)
  other = streaming.preprocess(image, 24, 3, True, "imagenet", tf.constant([1, 3], tf.int64))
  evaluation = streaming.preprocess(image, 24, 3, False, "imagenet", seed)
  assert train.shape == evaluation.shape == (24, 24, 3)
  assert float(tf.reduce_min(train)) >= -1 and float(tf.reduce_max(train)) <= 1
  np.testing.assert_array_equal(train.numpy(), again.numpy())  # stateless: keyed by the seed
  assert not np.array_equal(train.numpy(), other.numpy())
  # evaluation: shorter side to 24 / 0.875 = 27.4 -> 28 x 42, then the central 24 x 24
  resized = tf.image.resize(tf.cast(image, tf.float32), (28, 42))[2:26, 9:33] / 127.5 - 1
  np.testing.assert_allclose(evaluation.numpy(), resized.numpy(), atol=1e-5)


@pytest.mark.parametrize("kind", ["folder", "tfrecord"])
def test_imagenet_augmentation_runs_in_the_stream(sources, kind):
  split = streaming.stream_splits(sources[kind], valid_fraction=0.2)["train"]
  for training in (True, False):
    x, y = next(iter(split.dataset(4, 24, 3, training=training, augment="imagenet", seed=1)))
    assert x.shape == (4, 24, 24, 3) and y.shape == (4,)
    assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0


def test_search_data_streams_or_reads_into_memory(sources, tmp_path):
  root = sources["folder"].name[len("folder:"):]
  streamed = open_search_data(f"folder:{root}", None, stream="yes", valid_fraction=0.2)
  in_memory = open_search_data(f"folder:{root}", None, stream="no", valid_per_class=5)
  auto = open_search_data(f"folder:{root}", None, stream="auto", valid_per_class=5)
  assert streamed.streamed and not in_memory.streamed and not auto.streamed  # small: memory
  x, y = next(streamed.train_batches(8, 16, 1, seed=0, start=0, per_epoch=2))
  assert x.shape == (8, 16, 16, 1) and y.shape == (8,)
  assert sum(len(y) for _, y in streamed.eval_batches(16, 1, batch_size=7)) > 0
  with pytest.raises(UserError, match="valid_fraction"):
    open_search_data(f"folder:{root}", None, stream="yes", valid_fraction=0.7)
  with pytest.raises(UserError, match="no class sub-folders"):
    os.makedirs(tmp_path / "empty")
    open_search_data(f"folder:{tmp_path / 'empty'}", None, stream="yes")


RSS_SCRIPT = """
import json, resource, sys
import keras
import proxyless_tf as ptf

def rss_mb():
  for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
      return int(line.split()[1]) / 1024

class Rss(keras.callbacks.Callback):
  values = []
  def on_epoch_end(self, epoch, logs=None):
    Rss.values.append(rss_mb())

root, out, stream = sys.argv[1:4]
ptf.search(f"folder:{root}", target="none", out=out, space="tiny", input_size=16, batch_size=16,
           warmup_epochs=2, epochs=0, steps_per_epoch=3, valid_per_class=5, valid_fraction=0.02,
           stream=stream, callbacks=[Rss()], log=lambda *a: None)
print("RSS " + json.dumps({"epoch_end_mb": max(Rss.values),
                           "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _search_rss(root, out, stream) -> dict:
  """RSS of a short search in a fresh process: at the end of its epochs (the data set is held
  then) and the peak."""
  import json
  proc = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(root), str(out), stream],
                        capture_output=True, text=True, cwd=ROOT, timeout=600,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
  lines = [line for line in proc.stdout.splitlines() if line.startswith("RSS ")]
  assert lines and os.path.exists(os.path.join(out, "arch.json")), \
      proc.stdout[-2000:] + proc.stderr[-2000:]
  return json.loads(lines[-1][4:])


@pytest.mark.slow_tier  # a memory measurement of three searches: by hand, beside the benchmarks
def test_streamed_search_memory_stays_flat_as_the_dataset_grows(tmp_path):
  """2k vs 20k images of 64x64x3 (12 KB decoded each: ~+480 MB when read into memory, the
  folder's train split doubling as its test split)."""
  for name, per_class in (("small", 200), ("large", 2000)):
    write_folder(str(tmp_path / name), per_class, classes=10, size=64, channels=3, test=False)
  small = _search_rss(tmp_path / "small", tmp_path / "run_small", "yes")
  large = _search_rss(tmp_path / "large", tmp_path / "run_large", "yes")
  in_memory = _search_rss(tmp_path / "large", tmp_path / "run_memory", "no")
  assert large["epoch_end_mb"] - small["epoch_end_mb"] < 60, (small, large)  # flat within noise
  assert large["peak_mb"] - small["peak_mb"] < 100, (small, large)
  # the measurement can see a full read
  assert in_memory["epoch_end_mb"] - large["epoch_end_mb"] > 250, (large, in_memory)


def test_retraining_reads_a_streamed_dataset(sources, tmp_path):
  from proxyless_tf.arch import ArchConfig, Block
  from proxyless_tf.data.search_data import open_training_data
  from proxyless_tf.train import train
  root = sources["folder"].name[len("folder:"):]
  data = open_training_data(f"folder:{root}", None, stream="yes")
  assert data.streamed and data.class_names == ("class0", "class1", "class2")
  config = ArchConfig(name="stream_tiny", input_size=16, input_channels=1, num_classes=3,
                      stem_filters=8, head_filters=16, blocks=(Block(8, 1, 3, 1),))
  model, history = train(config, data, str(tmp_path / "t"), 2, 16, 0.05, 0.9, 4e-5, 0.1,
                         verbose=0)
  assert len(history["val_accuracy"]) == 2 and np.isfinite(history["loss"]).all()
  assert model.output_shape == (None, 3)


def test_rerank_refuses_streamed_data_in_one_line(tmp_path):
  from proxyless_tf.latency.cost_model import FlopsCostModel
  from proxyless_tf.search.runner import SearchConfig, SearchRun
  write_folder(tmp_path / "data", per_class=6)
  with pytest.raises(UserError, match="--rerank_candidates trains each candidate on data held in "
                     "memory; this dataset is streamed"):
    SearchRun(SearchConfig(out=str(tmp_path / "run"), space="tiny", dataset=f"folder:{tmp_path}/data",
                           stream="yes", rerank_candidates=3, batch_size=4), FlopsCostModel())
