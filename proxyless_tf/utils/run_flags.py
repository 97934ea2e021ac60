"""Flags shared by the search and the retraining (data streaming, tf.distribute, dtype policy).

Apart from `search_flags.py` so that `python -m proxyless_tf.train` defines them without
importing the search loop (TensorFlow): the retraining also runs under `KERAS_BACKEND=jax`.
"""

from __future__ import annotations

from absl import flags

# SearchConfig's defaults (search/runner.py takes them from here)
STREAM_DEFAULT = "auto"
VALID_FRACTION_DEFAULT = 0.04
AUGMENT_DEFAULT = "auto"


def define_stream_flags() -> None:
  from proxyless_tf.data.search_data import STREAM_CHOICES
  from proxyless_tf.data.streaming import AUGMENTS
  flags.DEFINE_enum("stream", STREAM_DEFAULT, list(STREAM_CHOICES), "Read the dataset into memory "
                    "(no), stream it from its files with tf.data (yes), or by its decoded size "
                    "(auto: streams above 2 GiB).")
  flags.DEFINE_float("valid_fraction", VALID_FRACTION_DEFAULT, "Streamed data: share of the "
                     "training split held out for arch steps (by a stable hash of each "
                     "example's key).",
                     lower_bound=0.0, upper_bound=0.5)
  flags.DEFINE_enum("augment", AUGMENT_DEFAULT, list(AUGMENTS), "Streamed data: training "
                    "augmentation (imagenet: random-resized-crop + flip, eval resize + center "
                    "crop; pad_crop: pad + crop + flip; auto: imagenet from 64 px up).")


def define_strategy_flags() -> None:
  """--strategy / --cpu_devices / --dtype_policy, shared by search and train."""
  from proxyless_tf.utils.strategy import STRATEGIES
  flags.DEFINE_enum("strategy", "default", list(STRATEGIES),
                    "tf.distribute strategy: default (one device), mirrored (every local GPU, or "
                    "every --cpu_devices device), multi_worker (the cluster in TF_CONFIG), tpu. "
                    "--batch_size is the global batch, split over the replicas.")
  from proxyless_tf.utils.precision import POLICIES
  flags.DEFINE_enum("dtype_policy", "float32", list(POLICIES), "Keras dtype policy of the "
                    "network: float32, mixed_float16 (GPUs; dynamic loss scaling) or "
                    "mixed_bfloat16 (TPUs, recent GPUs/CPUs). Variables, architecture logits and "
                    "the latency loss stay float32.")
  flags.DEFINE_integer("cpu_devices", 1, "Split the host CPU into this many logical devices "
                       "(with --strategy=mirrored on a machine without GPUs; they share the same "
                       "cores: for trying, not for speed).", lower_bound=1, upper_bound=64)
