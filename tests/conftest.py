import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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
