import pytest

from proxyless_tf.data.synthetic import make_synthetic_dataset  # noqa: F401 (tests import it from here)


def pytest_configure(config):
  config.addinivalue_line("markers", "slow: takes more than ~20 s on 2 cores (runs in CI)")
  config.addinivalue_line(
      "markers", "slow_tier: long checks run by hand, not in CI (`pytest -m slow_tier tests`)")


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


def tiny_search_config(out, **kw):
  """The tiny search most search tests run: 3 epochs of 6 steps (one warm-up), an arch update
  every 2 steps from the second search epoch, checkpoints every 4 steps."""
  from proxyless_tf.search.runner import SearchConfig
  base = dict(out=str(out), space="tiny", batch_size=16, valid_per_class=5, warmup_epochs=1,
              epochs=2, steps_per_epoch=6, arch_update_every=2, checkpoint_every=4,
              ref_latency=0.4, latency_loss="add_linear", arch_lr=0.01)
  base.update(kw)
  return SearchConfig(**base)


class TinySearch:
  """Two runs of `tiny_search_config` on `make_synthetic_dataset()`, made once per test process:
  `whole` ran to its end (`result`, `logs`), `stopped` stopped at step 13 (checkpoints 4, 8, 12,
  13). Tests read them or resume a copy (`copy_stopped`); they never write into them."""

  STOPPED_AT = 13

  def __init__(self, root):
    from proxyless_tf.latency.cost_model import FlopsCostModel
    from proxyless_tf.search.runner import SearchRun
    self.dataset = make_synthetic_dataset()
    self.whole, self.stopped = root / "whole", root / "stopped"
    self.logs = []
    self.result = SearchRun(tiny_search_config(self.whole), FlopsCostModel(),
                            log=self.logs.append, dataset=self.dataset).run()
    SearchRun(tiny_search_config(self.stopped, max_steps=self.STOPPED_AT), FlopsCostModel(),
              log=lambda *_: None, dataset=self.dataset).run()

  def copy_stopped(self, out):
    import shutil
    shutil.copytree(self.stopped, out)
    return out


@pytest.fixture(scope="session")
def tiny_search(tmp_path_factory) -> TinySearch:
  """One tiny search (and its run stopped half-way) shared by the search, resume, fault and
  lock tests: each SearchRun spends most of its seconds tracing its steps."""
  return TinySearch(tmp_path_factory.mktemp("tiny_search"))
