"""proxyless_tf: ProxylessNAS for TensorFlow / Keras / TFLite.

TensorFlow is imported where it is used (the search loop, tf.data, the export), not here: the
architecture, the model builder, GPU latency timing and a found net's training run on any Keras
backend (`KERAS_BACKEND=jax` on a machine without TensorFlow). Under the TensorFlow backend it
is imported now, quietly, so its start-up lines never reach the screen later.
"""

import os
import warnings

from proxyless_tf.utils.console import import_tensorflow_quietly, verbose

# TensorFlow's C++ lines (oneDNN, CUDA probes, converter notes) drown the tool's own output; a
# failure still raises a Python error that says what went wrong. PROXYLESS_TF_VERBOSE=1 shows all.
# Set, not defaulted: TensorFlow's import sets 1 itself, which a tool started from a process that
# imported TensorFlow first would inherit (its CUDA probe line then reaches the screen).
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if verbose() else "3"
if not verbose():
  if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    import_tensorflow_quietly()
  # Noise from libraries about choices made on purpose: tf.data shuffles the training set itself;
  # int8 calibration runs on a representative dataset, not input statistics.
  warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
  warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")

from proxyless_tf.version import __version__  # noqa: E402,F401

# The Python API (proxyless_tf/api.py). search / train / export / benchmark are the subpackages,
# made callable (utils/callable_module.py): ptf.search(data, target=...) runs a search.
from proxyless_tf import benchmark, export, search, train  # noqa: E402,F401
from proxyless_tf.api import as_dataset  # noqa: E402,F401
from proxyless_tf.arch import ArchConfig, get_preset, load_arch, save_arch  # noqa: E402,F401
from proxyless_tf.model import build_model  # noqa: E402,F401
