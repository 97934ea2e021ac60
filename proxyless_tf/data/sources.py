"""Where images come from: Fashion-MNIST IDX files, prepared tensorflow-datasets, image folders, TFRecords.

The loaders here return uint8 NHWC images and int labels in memory: small sets (Fashion-MNIST,
CIFAR, small folders) fit easily, and in-memory arrays make the held-out split exact per class.
Sets that do not fit are streamed instead (`data/streaming.py`; `--stream`). Nothing here touches the network: missing data is one line
that says how to get it.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import os
import pickle

import numpy as np

from proxyless_tf.errors import UserError

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")


@dataclasses.dataclass
class Split:
  images: np.ndarray  # uint8, (N, H, W, C)
  labels: np.ndarray  # int32, (N,)

  def __len__(self):
    return len(self.labels)

  def take(self, indices) -> "Split":
    return Split(self.images[indices], self.labels[indices])


@dataclasses.dataclass
class Dataset:
  name: str
  train: Split
  test: Split
  num_classes: int
  class_names: tuple = ()  # in label order, where the source names its classes

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return tuple(self.train.images.shape[1:])


def read_idx(path: str) -> np.ndarray:
  """Reads an IDX file (optionally gzipped): big-endian header of magic, dims, then uint8 data."""
  opener = gzip.open if path.endswith(".gz") else open
  try:
    with opener(path, "rb") as f:
      data = f.read()
  except (OSError, EOFError) as e:
    raise UserError(f"cannot read IDX file {path}: {e}") from None
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
    raise UserError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
  ndim = data[3]
  dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
  offset = 4 + 4 * ndim
  expected = int(np.prod(dims))
  if len(data) - offset != expected:
    raise UserError(f"{path} is truncated: header says {expected} bytes of data, found "
                    f"{len(data) - offset}")
  return np.frombuffer(data, np.uint8, offset=offset).reshape(dims)


def load_fashion_mnist_local(data_dir: str | None = None) -> Dataset:
  directory = data_dir or FASHION_MNIST_DIR
  splits = {}
  for split, (images_file, labels_file) in FASHION_MNIST_FILES.items():
    paths = [os.path.join(directory, name) for name in (images_file, labels_file)]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
      raise UserError(
          f"Fashion-MNIST not found ({missing[0]} is missing): install it with "
          "`apt-get install dataset-fashion-mnist` or pass --data_dir=DIR holding the four IDX files")
    images, labels = (read_idx(p) for p in paths)
    if len(images) != len(labels):
      raise UserError(f"{directory}: {split} has {len(images)} images but {len(labels)} labels")
    splits[split] = Split(images[..., None], labels.astype(np.int32))
  return Dataset("fashion_mnist_local", splits["train"], splits["test"], num_classes=10,
                 class_names=FASHION_MNIST_CLASSES)


def tfds_builder(name: str, data_dir: str | None = None):
  """The builder of a dataset already prepared under `data_dir` (no download is ever attempted)."""
  try:
    import tensorflow_datasets as tfds
  except ImportError as e:
    raise UserError(f"tensorflow-datasets cannot be imported ({e}); "
                    "pip install tensorflow-datasets importlib_resources") from None
  from absl import logging as absl_logging
  verbosity = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.ERROR)  # tfds warns about the missing files first
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except Exception as e:  # tfds raises several types for unknown names
    raise UserError(f"unknown tensorflow-datasets name '{name}': {str(e).splitlines()[0]}") from None
  try:
    prepared = builder.is_prepared()
  finally:
    absl_logging.set_verbosity(verbosity)
  if not prepared:
    how = (f"download the ImageNet tars yourself (image-net.org), then `tfds build {name} "
           "--data_dir=DIR --manual_dir=TARS` (README: ImageNet-size data)"
           if name.startswith("imagenet") else
           f"run `tfds build {name} --data_dir=DIR` where there is network")
    raise UserError(f"tensorflow-datasets '{name}' is not prepared under {builder.data_dir}: this "
                    f"tool never downloads; {how} and pass --data_dir=DIR, or search on data "
                    "you have, with any --target (a table for its input size is made), in "
                    "minutes on a CPU: --dataset=fashion_mnist_local (installed) --space=small "
                    "--input_size=32 --batch_size=64 --warmup_epochs=2 --epochs=3 "
                    "--steps_per_epoch=100 --latency_loss=add_linear (or --dataset=folder:PATH)")
  return builder


def load_tfds(name: str, data_dir: str | None = None) -> Dataset:
  """A dataset already prepared by tensorflow-datasets under `data_dir`, read into memory."""
  import tensorflow_datasets as tfds
  builder = tfds_builder(name, data_dir)
  splits = {}
  for split in ("train", "test"):
    if split not in builder.info.splits:
      raise UserError(f"tensorflow-datasets '{name}' has no '{split}' split")
    arrays = tfds.as_numpy(builder.as_dataset(split=split, as_supervised=True, batch_size=-1))
    images, labels = arrays
    if images.ndim == 3:
      images = images[..., None]
    splits[split] = Split(images.astype(np.uint8), labels.astype(np.int32))
  label = builder.info.features["label"]
  return Dataset(name, splits["train"], splits["test"], label.num_classes, tuple(label.names))


def _decode_image(path: str, channels: int = 0):
  import tensorflow as tf
  return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False).numpy()


def folder_listing(root: str):
  """(classes, {split: (paths, labels)}, has_test) of `root/train/CLASS/*` + `root/test/CLASS/*`
  (or `root/CLASS/*` alone: only a train split). File names only; nothing is read."""
  if not os.path.isdir(root):
    raise UserError(f"image folder {root} does not exist")
  split_dirs = {"train": root}
  if os.path.isdir(os.path.join(root, "train")):
    split_dirs = {s: os.path.join(root, s) for s in ("train", "test")
                  if os.path.isdir(os.path.join(root, s))}
  has_test = "test" in split_dirs
  classes = sorted(d for d in os.listdir(split_dirs["train"])
                   if os.path.isdir(os.path.join(split_dirs["train"], d)))
  if not classes:
    raise UserError(f"image folder {split_dirs['train']} has no class sub-folders")
  listing = {}
  for split, directory in split_dirs.items():
    paths, labels = [], []
    for label, cls in enumerate(classes):
      folder = os.path.join(directory, cls)
      for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        if name.lower().endswith(IMAGE_EXTENSIONS):
          paths.append(os.path.join(directory, cls, name))
          labels.append(label)
    if not paths:
      raise UserError(f"image folder {directory} has no images ({', '.join(IMAGE_EXTENSIONS)})")
    listing[split] = (np.array(paths), np.array(labels, np.int64))
  return classes, listing, has_test


def load_image_folder(root: str) -> Dataset:
  """`root/train/CLASS/*.png` and `root/test/CLASS/*.png` (or only `root/CLASS/*`: test = train)."""
  classes, listing, has_test = folder_listing(root)
  splits = {}
  for split in ("train", "test"):
    paths, labels = listing[split if has_test else "train"]
    images = [_decode_image(path) for path in paths]
    directory = os.path.dirname(os.path.dirname(paths[0]))
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
      raise UserError(f"images in {directory} have different shapes {sorted(shapes)[:3]}...; "
                      "resize them to one size first")
    splits[split] = Split(np.stack(images).astype(np.uint8), np.array(labels, np.int32))
  return Dataset(f"folder:{root}", splits["train"], splits["test"], len(classes), tuple(classes))


def load_tfrecords(pattern_prefix: str) -> Dataset:
  """`PREFIX-train*.tfrecord` / `PREFIX-test*.tfrecord` of tf.Examples {image: encoded bytes, label: int64}."""
  import tensorflow as tf
  features = {"image": tf.io.FixedLenFeature([], tf.string),
              "label": tf.io.FixedLenFeature([], tf.int64)}
  splits = {}
  for split in ("train", "test"):
    files = sorted(glob.glob(f"{pattern_prefix}-{split}*.tfrecord"))
    if not files:
      raise UserError(f"no TFRecord files match {pattern_prefix}-{split}*.tfrecord")
    images, labels = [], []
    try:
      for record in tf.data.TFRecordDataset(files):
        example = tf.io.parse_single_example(record, features)
        images.append(tf.io.decode_image(example["image"], expand_animations=False).numpy())
        labels.append(int(example["label"]))
    except tf.errors.OpError as e:
      raise UserError(f"bad TFRecord data in {files}: {e.message.splitlines()[0]}") from None
    splits[split] = Split(np.stack(images).astype(np.uint8), np.array(labels, np.int32))
  num_classes = int(max(splits["train"].labels.max(), splits["test"].labels.max())) + 1
  return Dataset(f"tfrecord:{pattern_prefix}", splits["train"], splits["test"], num_classes)


CIFAR10_PICKLE_DIR = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))


class _CifarUnpickler(pickle.Unpickler):
  """The CIFAR pickles hold dicts of bytes, lists and (in some copies) NumPy arrays; refuse any
  other class, so a file cannot run code."""

  _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
              ("numpy", "ndarray"), ("numpy", "dtype"),
              ("_codecs", "encode")}  # how Python 3 pickles bytes at protocol 2

  def find_class(self, module, name):
    if (module, name) in self._ALLOWED:
      return super().find_class(module, name)
    raise pickle.UnpicklingError(f"unexpected {module}.{name}")


def _read_cifar_pickle(path: str) -> dict:
  try:
    with open(path, "rb") as f:
      data = _CifarUnpickler(f, encoding="bytes").load()
  except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError,
          AttributeError, IndexError) as e:
    raise UserError(f"cannot read CIFAR-10 batch {path}: {e}") from None
  if not isinstance(data, dict):
    raise UserError(f"{path} is not a CIFAR-10 batch (expected a dict)")
  return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def _cifar_split(directory: str, names) -> Split:
  images, labels = [], []
  for name in names:
    path = os.path.join(directory, name)
    batch = _read_cifar_pickle(path)
    if "data" not in batch or "labels" not in batch:
      raise UserError(f"{path} is not a CIFAR-10 batch (no 'data' / 'labels')")
    data = np.asarray(batch["data"], np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(batch["labels"]):
      raise UserError(f"{path}: expected N x 3072 pixels and N labels, got {data.shape} and "
                      f"{len(batch['labels'])}")
    images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))  # CHW rows -> NHWC
    labels.append(np.asarray(batch["labels"], np.int32))
  split = Split(np.concatenate(images), np.concatenate(labels))
  if split.labels.min() < 0 or split.labels.max() > 9:
    raise UserError(f"{directory}: CIFAR-10 labels must be 0-9")
  return split


def cifar10_pickle_dir(data_dir: str | None) -> str | None:
  """The folder of the `cifar-10-batches-py` files under (or at) `data_dir`, if there is one."""
  if not data_dir:
    return None
  for directory in (data_dir, os.path.join(data_dir, CIFAR10_PICKLE_DIR)):
    if os.path.exists(os.path.join(directory, "data_batch_1")):
      return directory
  return None


def load_cifar10_pickles(directory: str) -> Dataset:
  """The Python version of CIFAR-10 as its authors ship it (cs.toronto.edu/~kriz):
  data_batch_1..5, test_batch and batches.meta (class names)."""
  missing = [n for n in CIFAR10_TRAIN_BATCHES + ("test_batch",)
             if not os.path.exists(os.path.join(directory, n))]
  if missing:
    raise UserError(f"CIFAR-10 batches incomplete in {directory}: {missing[0]} is missing")
  names: tuple = ()
  meta = os.path.join(directory, "batches.meta")
  if os.path.exists(meta):
    raw = _read_cifar_pickle(meta).get("label_names", [])
    names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in raw)
  return Dataset("cifar10", _cifar_split(directory, CIFAR10_TRAIN_BATCHES),
                 _cifar_split(directory, ("test_batch",)), 10, names)


def load_cifar10(data_dir: str | None = None) -> Dataset:
  """`--dataset=cifar10`: the `cifar-10-batches-py` files in `--data_dir` (or its sub-folder of
  that name), else tensorflow-datasets' `cifar10` prepared under `--data_dir`."""
  directory = cifar10_pickle_dir(data_dir)
  if directory:
    return load_cifar10_pickles(directory)
  tfds_dir = data_dir or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")
  missing = UserError(f"CIFAR-10 not found in {tfds_dir}: pass --data_dir=DIR holding the "
                      f"{CIFAR10_PICKLE_DIR} files (data_batch_1..5, test_batch), or a "
                      "tensorflow-datasets data dir where `tfds build cifar10` ran; nothing is "
                      "downloaded")
  if not os.path.isdir(os.path.join(tfds_dir, "cifar10")):  # before tfds logs its own lines
    raise missing
  try:
    return load_tfds("cifar10", data_dir)
  except UserError:
    raise missing from None


def load_dataset(name: str, data_dir: str | None = None) -> Dataset:
  """`fashion_mnist_local`, `cifar10`, `folder:PATH`, `tfrecord:PREFIX`, or a tensorflow-datasets
  name."""
  if name == "fashion_mnist_local":
    return load_fashion_mnist_local(data_dir)
  if name == "cifar10":
    return load_cifar10(data_dir)
  if name.startswith("folder:"):
    return load_image_folder(name[len("folder:"):])
  if name.startswith("tfrecord:"):
    return load_tfrecords(name[len("tfrecord:"):])
  return load_tfds(name, data_dir)


def held_out_split(train: Split, per_class: int, seed: int = 0) -> tuple[Split, Split]:
  """(train minus held-out, held-out): `per_class` images of each class, chosen with a fixed seed."""
  rng = np.random.default_rng(seed)
  valid = []
  for cls in np.unique(train.labels):
    indices = np.flatnonzero(train.labels == cls)
    if len(indices) <= per_class:
      raise UserError(f"class {cls} has only {len(indices)} training images; cannot hold out "
                      f"{per_class} per class (lower --valid_per_class)")
    valid.extend(rng.choice(indices, per_class, replace=False))
  valid = np.sort(np.array(valid))
  keep = np.setdiff1d(np.arange(len(train)), valid)
  return train.take(keep), train.take(valid)
