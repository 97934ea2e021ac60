"""Datasets too big for memory (ImageNet: ~190 GB decoded at 224) read as tf.data streams.

Sources: image folders of encoded files, sharded TFRecords of tf.Examples, prepared
tensorflow-datasets. Only keys (file names, record ids) may be listed; images are read, decoded and
augmented per element with parallel interleave and map, never gathered.

- Held-out split without an index: an example is held out when a stable hash (Fingerprint64) of
  its key falls under `valid_fraction`; the test split (the source's own) is never touched.
- Order: epoch e reads the source in an order fixed by (seed, e) (keys or files shuffled with that
  seed, then a seeded shuffle buffer), so a resumed run skips to its batch and sees exactly the
  batches it would have seen. Skipping happens before decoding: it costs reading, not decoding.
- Augmentation is stateless, keyed by (seed, element number in the whole stream).
- Preprocessing at the network's input size: `imagenet` (random-resized-crop + flip for training;
  resize + center crop for evaluation), `pad_crop` (pad + random crop + flip at the image's size, as
  the in-memory path), or `none`.
"""

from __future__ import annotations

import dataclasses
import glob
import os

import numpy as np

from proxyless_tf.errors import UserError

HASH_BUCKETS = 1_000_000
AUGMENTS = ("auto", "imagenet", "pad_crop", "none")


@dataclasses.dataclass
class StreamSource:
  """Where encoded examples come from: `elements(split, order_seed)` gives (key, payload, label)
  in an order fixed by `order_seed` (None: the source's own order); `payload` is encoded image
  bytes unless `decoded` (then uint8 HWC)."""
  name: str
  num_classes: int
  channels: int
  counts: dict  # split -> number of examples (train includes the held-out part)
  make_elements: object  # (split, order_seed) -> tf.data.Dataset
  has_test: bool = True
  shuffle_buffer: int = 0  # 0: the order needs no buffer (keys shuffled whole)
  class_names: tuple = ()

  def elements(self, split: str, order_seed: int | None = None):
    return self.make_elements(split, order_seed)


# -- sources ---------------------------------------------------------------------------------------

def folder_source(root: str) -> StreamSource:
  """`root/train/CLASS/*` and `root/test/CLASS/*` (or `root/CLASS/*`: the test split is hashed off
  the rest). Only file names are listed; keys are paths relative to `root`."""
  import tensorflow as tf
  from proxyless_tf.data.sources import folder_listing
  classes, listing, has_test = folder_listing(root)
  first = tf.io.decode_image(tf.io.read_file(listing["train"][0][0]), expand_animations=False)
  channels = int(first.shape[-1])
  if not has_test:
    listing["test"] = listing["train"]
  prefix = len(os.path.join(root, ""))

  def make(split, order_seed):
    paths, labels = listing[split]
    if order_seed is not None:
      order = np.random.default_rng(order_seed).permutation(len(paths))
      paths, labels = paths[order], labels[order]
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    return ds.map(lambda p, y: (tf.strings.substr(p, prefix, -1), p, y))

  def read(key, path, label):
    return key, tf.io.read_file(path), label

  def make_read(split, order_seed):
    return make(split, order_seed).map(read, num_parallel_calls=tf.data.AUTOTUNE,
                                       deterministic=True)

  return StreamSource(f"folder:{root}", len(classes), channels,
                      {s: len(v[0]) for s, v in listing.items()}, make_read, has_test,
                      class_names=tuple(classes))


def tfrecord_source(prefix: str, shuffle_buffer: int = 2048) -> StreamSource:
  """`PREFIX-train*.tfrecord` / `PREFIX-test*.tfrecord` of tf.Examples {image: encoded bytes,
  label: int64}; keys are `file:record-number`. Counting reads every record once (no decoding)."""
  import tensorflow as tf
  files = {s: sorted(glob.glob(f"{prefix}-{s}*.tfrecord")) for s in ("train", "test")}
  for split, found in files.items():
    if not found:
      raise UserError(f"no TFRecord files match {prefix}-{split}*.tfrecord")
  features = {"image": tf.io.FixedLenFeature([], tf.string),
              "label": tf.io.FixedLenFeature([], tf.int64)}

  def records(path):
    name = tf.strings.split(path, "/")[-1]
    return tf.data.TFRecordDataset(path).enumerate().map(
        lambda i, r: (tf.strings.join([name, tf.strings.as_string(i)], ":"), r))

  def make(split, order_seed):
    names = list(files[split])
    if order_seed is not None:
      names = [names[i] for i in np.random.default_rng(order_seed).permutation(len(names))]
    ds = tf.data.Dataset.from_tensor_slices(names).interleave(
        records, cycle_length=min(16, len(names)), num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True)

    def parse(key, record):
      example = tf.io.parse_single_example(record, features)
      return key, example["image"], example["label"]
    return ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

  try:
    # one read of each split: its size, and (train) the largest label
    tallies = {s: make(s, None).map(lambda k, p, y: y).reduce(
        (np.int64(0), np.int64(0)), lambda acc, y: (acc[0] + 1, tf.maximum(acc[1], y)))
        for s in files}
    counts = {s: int(n) for s, (n, _) in tallies.items()}
    first = next(iter(make("train", None).take(1)))
  except tf.errors.OpError as e:
    raise UserError(f"bad TFRecord data under {prefix}: {e.message.splitlines()[0]}") from None
  channels = int(tf.io.decode_image(first[1], expand_animations=False).shape[-1])
  return StreamSource(f"tfrecord:{prefix}", int(tallies["train"][1]) + 1, channels, counts, make,
                      shuffle_buffer=shuffle_buffer)


def tfds_source(name: str, data_dir: str | None = None, shuffle_buffer: int = 2048) -> StreamSource:
  """A dataset prepared by tensorflow-datasets under `data_dir`, read with its files shuffled by
  the order seed and images left encoded until after the skip; keys are tfds ids."""
  import tensorflow as tf
  from proxyless_tf.data.sources import tfds_builder
  import tensorflow_datasets as tfds
  builder = tfds_builder(name, data_dir)
  image_key = "image"
  features = builder.info.features
  channels = int(features[image_key].shape[-1] or 3)

  def make(split, order_seed):
    config = tfds.ReadConfig(add_tfds_id=True, shuffle_seed=order_seed,
                             interleave_cycle_length=16)
    ds = builder.as_dataset(split=split, shuffle_files=order_seed is not None, read_config=config,
                            decoders={image_key: tfds.decode.SkipDecoding()})
    return ds.map(lambda e: (e["tfds_id"], e[image_key], tf.cast(e["label"], tf.int64)))

  counts = {s: int(builder.info.splits[s].num_examples) for s in ("train", "test")}
  return StreamSource(name, int(features["label"].num_classes), channels, counts, make,
                      shuffle_buffer=shuffle_buffer, class_names=tuple(features["label"].names))


def open_source(name: str, data_dir: str | None = None) -> StreamSource:
  if name.startswith("folder:"):
    return folder_source(name[len("folder:"):])
  if name.startswith("tfrecord:"):
    return tfrecord_source(name[len("tfrecord:"):])
  if name == "fashion_mnist_local":
    raise UserError("fashion_mnist_local is read into memory (60k small images); --stream=yes "
                    "is for folders, TFRecords and tensorflow-datasets")
  return tfds_source(name, data_dir)


# -- the split -------------------------------------------------------------------------------------

def _bucket(key, salt: str = ""):
  import tensorflow as tf
  return tf.strings.to_hash_bucket_fast(tf.strings.join([salt, key]) if salt else key, HASH_BUCKETS)


def split_filter(part: str, valid_fraction: float, test_fraction: float = 0.0,
                 keep_fraction: float = 1.0):
  """A predicate on (key, payload, label): which examples of the source's train split belong to
  `part` ('train' or 'valid'; 'test' when the source has no test split of its own). Held out:
  hash < valid; test: the next `test_fraction`; `keep_fraction` thins the training part (by a
  second, independent hash) for --max_train_examples."""
  import tensorflow as tf
  v = int(round(valid_fraction * HASH_BUCKETS))
  t = v + int(round(test_fraction * HASH_BUCKETS))
  keep = int(round(keep_fraction * HASH_BUCKETS))

  def predicate(key, payload, label):
    b = _bucket(key)
    if part == "valid":
      return b < v
    if part == "test":
      return tf.logical_and(b >= v, b < t)
    inside = b >= t
    if keep < HASH_BUCKETS:
      inside = tf.logical_and(inside, _bucket(key, "keep:") < keep)
    return inside
  return predicate


# -- preprocessing ---------------------------------------------------------------------------------

def resolve_augment(augment: str, input_size: int) -> str:
  if augment not in AUGMENTS:
    raise UserError(f"--augment must be one of {', '.join(AUGMENTS)}, got {augment!r}")
  if augment == "auto":
    return "imagenet" if input_size >= 64 else "pad_crop"
  return augment


def preprocess(image, input_size: int, channels: int, training: bool, augment: str, seed):
  """uint8 HWC (any size) -> float32 [-1, 1] at input_size x input_size x channels."""
  import tensorflow as tf
  from proxyless_tf.data.pipeline import match_channels
  have = image.shape[-1]  # static (decoded with the source's channels); crops lose it
  if augment == "imagenet":
    if training:
      crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
      begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
          tf.shape(image), tf.zeros([1, 0, 4]), seed=crop_seed, min_object_covered=0.1,
          aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0), max_attempts=10,
          use_image_if_no_bounding_boxes=True)
      image = tf.slice(image, begin, size)
      x = tf.image.resize(image, (input_size, input_size))
      x = tf.image.stateless_random_flip_left_right(x, seed=flip_seed)
    else:  # resize the shorter side to size / 0.875, then the central size x size
      shape = tf.cast(tf.shape(image)[:2], tf.float32)
      scale = (input_size / 0.875) / tf.reduce_min(shape)
      resized = tf.cast(tf.math.ceil(shape * scale), tf.int32)
      x = tf.image.resize(image, resized)
      top = (resized[0] - input_size) // 2
      left = (resized[1] - input_size) // 2
      x = x[top:top + input_size, left:left + input_size]
  else:
    x = tf.cast(image, tf.float32)
    if x.shape[0] != input_size or x.shape[1] != input_size:
      x = tf.image.resize(x, (input_size, input_size))
    if training and augment == "pad_crop":
      pad = max(1, input_size // 8)
      crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
      x = tf.pad(x, [[pad, pad], [pad, pad], [0, 0]])
      x = tf.image.stateless_random_crop(x, [input_size, input_size, tf.shape(x)[2]], crop_seed)
      x = tf.image.stateless_random_flip_left_right(x, seed=flip_seed)
  x = tf.reshape(x, [input_size, input_size, have]) / 127.5 - 1.0
  return tf.ensure_shape(match_channels(x, channels), [input_size, input_size, channels])


# -- streams ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class StreamSplit:
  """One part of a streamed dataset ('train', 'valid' or 'test') and how to read it."""
  source: StreamSource
  part: str
  valid_fraction: float
  test_fraction: float
  keep_fraction: float = 1.0

  def __len__(self) -> int:
    """Expected number of examples (the hash split is exact per key, its size approximate)."""
    if self.part == "test" and self.source.has_test:
      return self.source.counts["test"]
    total = self.source.counts["train"]
    if self.part == "valid":
      return int(total * self.valid_fraction)
    if self.part == "test":
      return int(total * self.test_fraction)
    return int(total * (1 - self.valid_fraction - self.test_fraction) * self.keep_fraction)

  def elements(self, order_seed: int | None):
    split = "test" if self.part == "test" and self.source.has_test else "train"
    ds = self.source.elements(split, order_seed)
    if split == "train":
      ds = ds.filter(split_filter(self.part, self.valid_fraction, self.test_fraction,
                                  self.keep_fraction))
    if order_seed is not None and self.source.shuffle_buffer:
      ds = ds.shuffle(self.source.shuffle_buffer, seed=order_seed)
    return ds

  def dataset(self, batch_size: int, input_size: int, channels: int, *, training: bool,
              augment: str = "auto", seed: int = 0, epoch: int = 0, skip_batches: int = 0,
              take_batches: int | None = None, repeat: bool = False, drop_remainder: bool = True,
              shuffle: bool | None = None):
    """Batches of epoch `epoch` (order seed = seed + epoch; the source's order when not
    `shuffle`, which defaults to `training`), from batch `skip_batches` on. Element numbers (the
    augmentation's key) count from the epoch's first element."""
    import tensorflow as tf
    augment = resolve_augment(augment, input_size)
    shuffle = training if shuffle is None else shuffle
    ds = self.elements(seed + epoch if shuffle else None)
    if repeat:
      ds = ds.repeat()
    if take_batches is not None:
      ds = ds.take(take_batches * batch_size)
    ds = ds.enumerate().skip(skip_batches * batch_size)
    first = tf.constant(epoch * (take_batches or 0) * batch_size, tf.int64)

    def prep(number, element):
      _, payload, label = element
      image = tf.io.decode_image(payload, channels=self.source.channels, expand_animations=False)
      key = tf.stack([tf.cast(seed, tf.int64), first + number])
      return preprocess(image, input_size, channels, training, augment, key), tf.cast(label, tf.int32)

    ds = ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def stream_splits(source: StreamSource, valid_fraction: float, test_fraction: float = 0.1,
                  keep_fraction: float = 1.0) -> dict:
  if not 0 < valid_fraction < 0.5:
    raise UserError(f"--valid_fraction must be in (0, 0.5), got {valid_fraction}")
  t = 0.0 if source.has_test else test_fraction
  return {part: StreamSplit(source, part, valid_fraction, t, keep_fraction if part == "train" else 1.0)
          for part in ("train", "valid", "test")}


def batch_stream(split: StreamSplit, batch_size: int, input_size: int, channels: int, *, seed: int,
                 augment: str = "auto", start: int = 0, training: bool = True,
                 per_epoch: int | None = None):
  """Endless batches of a streamed split; `start` skips to batch number `start` (epoch e is
  ordered by seed + e). The streaming twin of data.pipeline.batch_stream."""
  per_epoch = per_epoch or len(split) // batch_size
  if per_epoch < 1:
    raise UserError(f"about {len(split)} examples are fewer than one batch of {batch_size}; "
                    "lower --batch_size")
  epoch, offset = divmod(start, per_epoch)
  while True:
    yield from split.dataset(batch_size, input_size, channels, training=training, augment=augment,
                             seed=seed, epoch=epoch, skip_batches=offset, take_batches=per_epoch,
                             repeat=True, shuffle=True)
    epoch, offset = epoch + 1, 0
