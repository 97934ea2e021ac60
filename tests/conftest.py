import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import pytest  # noqa: E402


def pytest_configure(config):
  config.addinivalue_line("markers", "slow: takes more than ~20 s on 2 cores")


@pytest.fixture(scope="session")
def tiny_arch():
  """A small net with every block kind: expand 1, stride 2, residual, zero, k5/k7."""
  from proxyless_tf.arch import ArchConfig, Block
  return ArchConfig(name="tiny", input_size=32, input_channels=1, num_classes=10, stem_filters=8,
                    head_filters=32, blocks=(
                        Block(8, 1, 3, 1),
                        Block(16, 2, 5, 3),
                        Block(16, 1, 3, 6),
                        Block(16, 1, type="zero"),
                        Block(24, 2, 7, 3),
                    ))


def make_synthetic_dataset(per_class: int = 30, size: int = 16, classes: int = 10, seed: int = 0):
  """Learnable toy images: class c is a bright square at a class-specific place, plus noise."""
  import numpy as np
  from proxyless_tf.data import Dataset, Split
  rng = np.random.default_rng(seed)

  def split(n):
    labels = np.repeat(np.arange(classes), n).astype(np.int32)
    images = rng.integers(0, 60, (len(labels), size, size, 1)).astype(np.uint8)
    for i, c in enumerate(labels):
      r, col = divmod(int(c), 4)
      images[i, 4 * r:4 * r + 4, 4 * col:4 * col + 4] = 255
    return Split(images, labels)

  return Dataset("synthetic", split(per_class), split(max(2, per_class // 5)), classes)


@pytest.fixture
def synthetic_dataset():
  return make_synthetic_dataset()


def write_idx(path, array):
  """Writes an unsigned-byte IDX file, gzipped when the name ends with .gz."""
  import gzip
  import numpy as np
  array = np.asarray(array, np.uint8)
  header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
  opener = gzip.open if str(path).endswith(".gz") else open
  with opener(path, "wb") as f:
    f.write(header + array.tobytes())


@pytest.fixture(scope="session")
def fashion_like_dir(tmp_path_factory):
  """A directory with the four Fashion-MNIST IDX files, small and synthetic."""
  from proxyless_tf.data.sources import FASHION_MNIST_FILES
  data = make_synthetic_dataset(per_class=30, size=28)
  directory = tmp_path_factory.mktemp("fashion")
  for split_name, (images_file, labels_file) in FASHION_MNIST_FILES.items():
    split = data.train if split_name == "train" else data.test
    write_idx(directory / images_file, split.images[..., 0])
    write_idx(directory / labels_file, split.labels)
  return str(directory)
