"""The Python API (`import proxyless_tf as ptf`): numpy and tf.data in, objects out, Keras
callbacks honoured, errors that name arguments."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import proxyless_tf as ptf
from conftest import make_synthetic_dataset


class Recorder(keras.callbacks.Callback):
  def __init__(self, stop_after=None):
    super().__init__()
    self.epochs, self.began, self.ended, self.stop_after = [], 0, 0, stop_after

  def on_train_begin(self, logs=None):
    self.began += 1

  def on_epoch_end(self, epoch, logs=None):
    self.epochs.append((epoch, dict(logs)))
    if self.stop_after is not None and epoch + 1 >= self.stop_after:
      self.model.stop_training = True

  def on_train_end(self, logs=None):
    self.ended += 1


def _arrays():
  data = make_synthetic_dataset(per_class=20)
  return (data.train.images, data.train.labels), (data.test.images, data.test.labels)


SMALL = dict(space="tiny", input_size=16, batch_size=16, warmup_epochs=1, epochs=2,
             steps_per_epoch=3, valid_per_class=3, arch_update_every=1)


def test_search_on_numpy_returns_the_arch_and_honours_callbacks(tmp_path):
  (x, y), _ = _arrays()
  recorder = Recorder(stop_after=2)
  result = ptf.search((x.astype("float32") / 255.0, y), target="flops", out=str(tmp_path / "s"),
                      callbacks=[recorder], latency_loss="add_linear", target_latency=0.0,
                      log=lambda *a: None, **SMALL)
  assert isinstance(result.arch, ptf.ArchConfig) and result.arch.input_channels == 1
  assert os.path.exists(result.arch_path) and result.predicted_latency > 0
  assert recorder.began == recorder.ended == 1
  assert [e for e, _ in recorder.epochs] == [0, 1]  # stopped after 2 of 3 epochs
  assert {"val_loss", "val_accuracy", "loss", "entropy"} <= set(recorder.epochs[0][1])
  assert len(result.history) == 2


def test_train_on_tf_data_export_and_benchmark(tmp_path):
  (x, y), (xt, yt) = _arrays()
  train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)  # batched: unbatched inside
  test_ds = tf.data.Dataset.from_tensor_slices((xt, yt))
  recorder = Recorder()
  model, history = ptf.train(_tiny_arch(), (train_ds, test_ds), epochs=2,
                             batch_size=32, out=str(tmp_path / "t"), callbacks=[recorder],
                             verbose=0)
  assert isinstance(model, keras.Model) and model.output_shape == (None, 10)
  assert len(history["val_accuracy"]) == 2 and len(recorder.epochs) == 2
  files = ptf.export(model, str(tmp_path / "e"), quantize=("float",), data=x[:64],
                     log=lambda *a: None)
  assert os.path.exists(files["float"])
  import json
  card = json.load(open(tmp_path / "e" / "model.json"))
  assert card["input"]["dtype"] == "uint8" and card["input"]["shape"] == [1, 16, 16, 1]
  assert card["class_names"] == [str(i) for i in range(10)] and card["files"]["float"]["size_bytes"]
  assert open(tmp_path / "e" / "labels.txt").read().split("\n")[:2] == ["0", "1"]
  result = ptf.benchmark(files["float"], num_runs=5, warmup_runs=1)
  assert result.summary["median_ms"] > 0


def _tiny_arch():
  from proxyless_tf.arch import ArchConfig, Block
  return ArchConfig(name="api_tiny", input_size=16, input_channels=1, num_classes=10,
                    stem_filters=8, head_filters=16, blocks=(Block(8, 1, 3, 1), Block(16, 2, 3, 3)))


@pytest.mark.parametrize("call,message", [
    (lambda d: ptf.search(d, target="flops", batch_size=0, out="/tmp/x", **{
        k: v for k, v in SMALL.items() if k != "batch_size"}), "batch_size must be >= 1"),
    (lambda d: ptf.search(d, target="flops", bogus=1), "unknown options bogus"),
    (lambda d: ptf.search((d[0][0] * 3.0, d[0][1]), target="none"), "float images must be in"),
    (lambda d: ptf.search((d[0][0], d[0][1][:5]), target="none"), "labels"),
    (lambda d: ptf.search(tf.data.Dataset.range(3), target="none"), r"\(image, label\) pairs"),
])
def test_api_errors_name_arguments_not_flags(call, message):
  with pytest.raises(ValueError, match=message) as info:
    call(_arrays())
  assert "--" not in str(info.value)


def test_train_takes_a_tree_config_and_a_tree_search_result(tmp_path):
  """The API trains any family's config, as its docstring says: a tree-cell net, given as the
  config or as the search result that holds it."""
  from proxyless_tf.search.runner import SearchResult
  from proxyless_tf.space.space import get_space
  tree = get_space("tiny_tree").derive([0] * len(get_space("tiny_tree").mixed_ops()))
  (x, y), (xt, yt) = _arrays()
  result = SearchResult(arch_path="", png_path="", config=tree, predicted_latency=None, steps=0,
                        history=[])
  for i, arch in enumerate((tree, result)):
    model, history = ptf.train(arch, ((x, y), (xt, yt)), epochs=1, batch_size=64,
                               out=str(tmp_path / f"t{i}"), verbose=0)
    assert model.get_layer("stem_bn") is not None and model.output_shape == (None, 10)
    assert len(history["val_accuracy"]) == 1
