"""A search's options and their validation: what a run is asked to do, before anything runs.

Each option is a field of `SearchConfig`, declared with what `validate()` and `--resume` need to
know of it (`option(default, minimum=..., fixed_on_resume=...)`). The flags
(`utils/search_flags.py`) and the Python API (`api.search`) fill it; `validate()` turns a bad
value into one line naming the flag.
"""

from __future__ import annotations

import dataclasses
import math
import os

from proxyless_tf.data.search_data import STREAM_CHOICES
from proxyless_tf.data.streaming import AUGMENTS
from proxyless_tf.errors import UserError
from proxyless_tf.search.arch_update import ARCH_UPDATES
from proxyless_tf.search.target_latency import parse_request
from proxyless_tf.supernet.mixed_op import ARCH_MODES, WEIGHT_SHARING
from proxyless_tf.utils import run_flags
from proxyless_tf.utils.precision import check_policy
from proxyless_tf.utils.strategy import STRATEGIES


def option(default, *, minimum: int | None = None, fixed_on_resume: bool = False):
  """A search option's declaration beside its default: `minimum`, the smallest value
  `validate()` accepts; `fixed_on_resume`, a resumed run must keep it (`--resume` refuses a
  change: the run's data, supernet or sampling would no longer be the saved one's)."""
  metadata = {"fixed_on_resume": fixed_on_resume}
  if minimum is not None:
    metadata["minimum"] = minimum
  return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class SearchConfig:
  out: str
  space: str = option("small", fixed_on_resume=True)
  width_mult: float = option(1.0, fixed_on_resume=True)
  dataset: str = option("fashion_mnist_local", fixed_on_resume=True)
  data_dir: str | None = None
  input_size: int | None = option(None, fixed_on_resume=True)  # default: the space's
  max_train_examples: int = option(0, minimum=0)  # 0: all
  valid_per_class: int = option(50, fixed_on_resume=True, minimum=1)
  batch_size: int = option(256, fixed_on_resume=True, minimum=1)
  warmup_epochs: int = option(40, minimum=0)
  epochs: int = option(120, minimum=0)
  steps_per_epoch: int = option(0, minimum=0)  # 0: one pass over the training split
  warmup_lr: float = 0.05
  lr: float = 0.025
  momentum: float = 0.9
  weight_decay: float = 4e-5
  label_smoothing: float = 0.1
  arch_algo: str = option("grad", fixed_on_resume=True)
  arch_mode: str = option("full_v2", fixed_on_resume=True)
  # or "nested": candidates cut their kernels from one set
  weight_sharing: str = option("independent", fixed_on_resume=True)
  arch_lr: float = 1e-3
  arch_update_every: int = option(5, minimum=1)
  rl_updates_per_epoch: int = option(300, minimum=1)
  rl_samples: int = option(10, minimum=1)
  latency_loss: str = "mul_log"
  ref_latency: float = 80.0
  loss_alpha: float = 0.2
  loss_beta: float = 0.3
  loss_lambda: float = 0.1
  checkpoint_every: int = option(200, minimum=1)
  # search epochs without arch updates first (the original's schedule)
  arch_skip_epochs: int = option(1, minimum=0)
  # > 0: requested-latency mode, in the cost model's unit, or "0.8x": a ratio to the space's
  # reference net (k3 e6 everywhere) on the same cost model
  target_latency: float | str = option(0.0, fixed_on_resume=True)
  target_latency_rate: float = 0.05  # dual-ascent step of the latency multiplier
  seed: int = option(0, fixed_on_resume=True)
  # stop (with a checkpoint) after this many total steps; 0: run to the end
  max_steps: int = option(0, minimum=0)
  deterministic: bool = True  # tf op determinism: same flags and seed -> same run
  strategy: str = "default"  # tf.distribute: default | mirrored | multi_worker | tpu
  # read the dataset into memory (no), stream it (yes), or by its size (auto)
  stream: str = run_flags.STREAM_DEFAULT
  # streamed data: held-out share, by a stable hash of each key
  valid_fraction: float = run_flags.VALID_FRACTION_DEFAULT
  # streamed data: imagenet | pad_crop | none (auto: by input size)
  augment: str = run_flags.AUGMENT_DEFAULT
  # or mixed_float16 (with loss scaling) / mixed_bfloat16
  dtype_policy: str = option("float32", fixed_on_resume=True)
  # re-ranking (search/rerank.py): > 1: the derived net and nets of its cost drawn from the learned
  # distribution, each trained briefly from scratch; the best on held-out training images is kept
  rerank_candidates: int = option(0, minimum=0)
  rerank_epochs: int = option(1, minimum=1)
  rerank_seeds: int = option(2, minimum=1)
  rerank_train_examples: int = option(24000, minimum=1)
  rerank_valid_examples: int = option(5000, minimum=1)
  # a host table's target: time the derived net next to the reference net at the end
  verify_latency: bool = True

  def validate(self) -> None:
    if self.arch_algo not in ARCH_UPDATES:
      raise UserError(f"--arch_algo must be {' or '.join(ARCH_UPDATES)}, got {self.arch_algo!r}")
    if self.arch_mode not in ARCH_MODES:
      raise UserError(f"--arch_mode must be one of {', '.join(ARCH_MODES)}, got {self.arch_mode!r}")
    if self.weight_sharing not in WEIGHT_SHARING:
      raise UserError(f"--weight_sharing must be one of {', '.join(WEIGHT_SHARING)}, got "
                      f"{self.weight_sharing!r}")
    for field in dataclasses.fields(self):
      minimum = field.metadata.get("minimum")
      if minimum is not None and getattr(self, field.name) < minimum:
        raise UserError(f"--{field.name} must be >= {minimum}, got {getattr(self, field.name)}")
    number, ratio = parse_request(self.target_latency)
    # one spelling per request (resumes compare it): a number, or "0.8x"
    self.target_latency = f"{number:g}x" if ratio else number
    if self.target_latency and self.arch_algo != "grad":
      raise UserError("--target_latency works with --arch_algo=grad (the multiplier weighs the "
                      "gradient's latency term)")
    if self.warmup_epochs + self.epochs == 0:
      raise UserError("--warmup_epochs and --epochs are both 0: nothing to do")
    for name in ("lr", "warmup_lr", "arch_lr", "target_latency_rate", "ref_latency"):
      value = getattr(self, name)
      if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise UserError(f"--{name} must be a finite number > 0, got {value}")
    if self.input_size is not None and not 1 <= self.input_size <= 4096:
      raise UserError(f"--input_size must be in [1, 4096], got {self.input_size}")
    if self.stream not in STREAM_CHOICES:
      raise UserError(f"--stream must be one of {', '.join(STREAM_CHOICES)}, got {self.stream!r}")
    if self.augment not in AUGMENTS:
      raise UserError(f"--augment must be one of {', '.join(AUGMENTS)}, got {self.augment!r}")
    if not 0 < self.valid_fraction < 0.5:
      raise UserError(f"--valid_fraction must be in (0, 0.5), got {self.valid_fraction}")
    check_policy(self.dtype_policy)
    if self.strategy not in STRATEGIES:
      raise UserError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
    if os.path.exists(self.out) and not os.path.isdir(self.out):
      raise UserError(f"--out {self.out} is a file; give a run directory")
