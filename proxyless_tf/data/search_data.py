"""The three streams a search reads, from memory or streamed: training batches, held-out batches
for the arch steps, and the whole held-out part for the per-epoch evaluation.

In memory (the default where the decoded set fits in `MEMORY_LIMIT`): exact per-class held-out
split. Streamed (`stream="yes"`, or "auto" above the limit): hash split by key, see
`data/streaming.py`. Both resume by skipping to a batch number.
"""

from __future__ import annotations

import numpy as np

from proxyless_tf.data import streaming
from proxyless_tf.data.sources import held_out_split, load_dataset
from proxyless_tf.errors import UserError

MEMORY_LIMIT = 2 * 1024**3  # decoded bytes of the training split
STREAM_CHOICES = ("auto", "yes", "no")


class InMemoryData:
  streamed = False

  def __init__(self, dataset, valid_per_class: int, max_train_examples: int, seed: int):
    self.source = dataset  # the whole dataset (search/rerank.py splits its training part anew)
    train, self.valid = held_out_split(dataset.train, valid_per_class, seed=seed)
    if max_train_examples:
      train = train.take(np.random.default_rng(seed).permutation(len(train))[:max_train_examples])
    self.train = train
    self.channels = dataset.image_shape[-1]
    self.num_classes = dataset.num_classes
    self.name = dataset.name

  def train_count(self) -> int:
    return len(self.train)

  def valid_count(self) -> int:
    return len(self.valid)

  def train_batches(self, batch_size, input_size, channels, *, seed, start, per_epoch):
    from proxyless_tf.data import pipeline  # tf.data: imported when used
    return pipeline.batch_stream(self.train, batch_size, input_size, channels, seed=seed,
                                 start=start, per_epoch=per_epoch)

  def valid_batches(self, batch_size, input_size, channels, *, seed, start):
    from proxyless_tf.data import pipeline  # tf.data: imported when used
    return pipeline.batch_stream(self.valid, min(batch_size, len(self.valid)), input_size,
                                 channels, seed=seed, start=start, training=False)

  def eval_batches(self, input_size, channels, batch_size=256):
    from proxyless_tf.data import pipeline  # tf.data: imported when used
    for begin in range(0, len(self.valid), batch_size):
      part = self.valid.take(np.arange(begin, min(begin + batch_size, len(self.valid))))
      yield pipeline.normalize(part.images, input_size, channels), part.labels


class StreamedData:
  streamed = True

  def __init__(self, source, valid_fraction: float, max_train_examples: int, augment: str):
    total = source.counts["train"] * (1 - valid_fraction)
    keep = min(1.0, max_train_examples / total) if max_train_examples else 1.0
    self.splits = streaming.stream_splits(source, valid_fraction, keep_fraction=keep)
    self.train, self.valid = self.splits["train"], self.splits["valid"]
    self.test = self.splits["test"]
    self.channels = source.channels
    self.num_classes = source.num_classes
    self.class_names = source.class_names
    self.name = source.name
    self.augment = augment

  def train_count(self) -> int:
    return len(self.train)

  def valid_count(self) -> int:
    return len(self.valid)

  def train_batches(self, batch_size, input_size, channels, *, seed, start, per_epoch):
    return streaming.batch_stream(self.train, batch_size, input_size, channels, seed=seed,
                                  augment=self.augment, start=start, per_epoch=per_epoch)

  def valid_batches(self, batch_size, input_size, channels, *, seed, start):
    return streaming.batch_stream(self.valid, min(batch_size, max(1, len(self.valid))), input_size,
                                  channels, seed=seed, augment=self.augment, start=start,
                                  training=False)

  def eval_batches(self, input_size, channels, batch_size=256):
    yield from self.valid.dataset(batch_size, input_size, channels, training=False,
                                  augment=self.augment, drop_remainder=False)


def decoded_bytes(source) -> float:
  """Estimated decoded size of the training split (first image's size x count)."""
  import tensorflow as tf
  key, payload, _ = next(iter(source.elements("train").take(1)))
  image = tf.io.decode_image(payload, expand_animations=False)
  return float(np.prod(image.shape)) * source.counts["train"]


def _source_to_stream(name: str, data_dir: str | None, stream: str, log):
  """The StreamSource to stream `name` from, or None to read it into memory: as `stream` says,
  and with "auto" by the decoded size of the training split (Fashion-MNIST: always memory)."""
  if stream not in STREAM_CHOICES:
    raise UserError(f"--stream must be one of {', '.join(STREAM_CHOICES)}, got {stream!r}")
  if stream == "no" or (stream == "auto" and name in ("fashion_mnist_local", "cifar10")):
    return None
  source = streaming.open_source(name, data_dir)
  if stream == "auto":
    size = decoded_bytes(source)
    if size <= MEMORY_LIMIT:
      return None
    log(f"{name}: about {size / 1024**3:.1f} GiB decoded; streaming it (--stream=no reads it "
        "into memory)")
  return source


def open_training_data(name: str, data_dir: str | None, *, stream: str = "auto",
                       max_train_examples: int = 0, augment: str = "auto", seed: int = 0,
                       log=print):
  """For retraining: an in-memory data.Dataset, or StreamedData (train / test streams) when
  `stream` says so (or, with "auto", when the decoded training split exceeds MEMORY_LIMIT)."""
  source = _source_to_stream(name, data_dir, stream, log)
  if source is not None:
    return StreamedData(source, 0.02, max_train_examples, augment)
  data = load_dataset(name, data_dir)
  if max_train_examples:
    data.train = data.train.take(np.random.default_rng(seed).permutation(
        len(data.train))[:max_train_examples])
  return data


def open_search_data(name: str, data_dir: str | None, *, stream: str = "auto",
                     valid_per_class: int = 50, valid_fraction: float = 0.04,
                     max_train_examples: int = 0, augment: str = "auto", seed: int = 0,
                     dataset=None, log=print):
  """The search's data: `dataset` (an in-memory data.Dataset) when given, else `name` read into
  memory or streamed as `stream` says."""
  if dataset is not None:
    if stream == "yes":
      raise UserError("stream='yes' needs a dataset name, not in-memory arrays")
    return InMemoryData(dataset, valid_per_class, max_train_examples, seed)
  source = _source_to_stream(name, data_dir, stream, log)
  if source is None:
    return InMemoryData(load_dataset(name, data_dir), valid_per_class, max_train_examples, seed)
  return StreamedData(source, valid_fraction, max_train_examples, augment)
