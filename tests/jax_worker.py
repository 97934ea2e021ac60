"""Run by test_gpu_target under KERAS_BACKEND=jax, with TensorFlow made unimportable: imports
proxyless_tf, trains a found net for an epoch, saves its weights and logits on a fixed batch,
and builds a small XLA latency table; prints one JSON line of what it saw."""

import importlib.abc
import json
import os
import sys


class _NoTensorFlow(importlib.abc.MetaPathFinder):
  """As on a machine where TensorFlow is not installed."""

  def find_spec(self, name, path, target=None):
    if name.split(".")[0] in ("tensorflow", "tensorflow_datasets", "tensorboard"):
      raise ModuleNotFoundError(f"No module named {name!r}")
    return None


sys.meta_path.insert(0, _NoTensorFlow())
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import proxyless_tf as ptf  # noqa: E402
from conftest import make_synthetic_dataset  # noqa: E402
from proxyless_tf.latency.builder import build_space_table  # noqa: E402
from proxyless_tf.latency.ops import all_space_ops  # noqa: E402
from proxyless_tf.latency.xla import XlaMeasurer, xla_metadata  # noqa: E402
from proxyless_tf.space.space import get_space  # noqa: E402
from proxyless_tf.train import train  # noqa: E402

out = sys.argv[1]
space = get_space("tiny")
config = space.derive([1, 0, 1], name="found")
ptf.save_arch(config, os.path.join(out, "train", "arch.json"))
data = make_synthetic_dataset(per_class=8, size=16)
model, history = train(config, data, os.path.join(out, "train"), epochs=1, batch_size=16, lr=0.05,
                       momentum=0.9, weight_decay=4e-5, label_smoothing=0.1, verbose=0)
x = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype(np.float32)
np.savez(os.path.join(out, "logits.npz"), x=x, logits=np.asarray(model(x, training=False)))
table = build_space_table(space, os.path.join(out, "xla_table.json"),
                          [XlaMeasurer(8, "float32", warmup=1, runs=2)], "float32",
                          xla_metadata(8, "float32"), rounds=1, log=lambda *_: None)
print(json.dumps({"tensorflow_imported": "tensorflow" in sys.modules,
                  "history_epochs": len(history["loss"]), "loss": history["loss"][-1],
                  "table_ops": len(table.entries), "space_ops": len(all_space_ops(space)),
                  "table_backend": table.metadata["identity"]["backend"]}))
