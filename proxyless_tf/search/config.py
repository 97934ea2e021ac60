"""A search's options and their validation: what a run is asked to do, before anything runs.

Each option is a field of `SearchConfig`, declared once with everything the rest reads of it
(`option(default, help=..., minimum=..., choices=..., fixed_on_resume=...)`): the flags are made
from the declarations (`utils/search_flags.py`), text values from flag files and the Python API
are coerced by them (`coerce`), `validate()` checks their bounds and choices and turns a bad value
into one line naming the flag, and `--resume` refuses a change to the options marked
`fixed_on_resume`. A new option is one declaration (plus its use).
"""

from __future__ import annotations

import dataclasses
import math
import os

from proxyless_tf.data.search_data import STREAM_CHOICES
from proxyless_tf.data.streaming import AUGMENTS
from proxyless_tf.errors import UserError
from proxyless_tf.search.arch_update import ARCH_UPDATES
from proxyless_tf.search.objective import LATENCY_LOSSES
from proxyless_tf.search.target_latency import parse_request
from proxyless_tf.supernet.mixed_op import ARCH_MODES, WEIGHT_SHARING
from proxyless_tf.utils import run_flags
from proxyless_tf.utils.precision import check_policy
from proxyless_tf.utils.strategy import STRATEGIES


def option(default, *, help, kind=None, minimum=None, maximum=None, choices=None,
           fixed_on_resume: bool = False, flag: str = "own"):
  """A search option's one declaration; everything else about it is read from here:
  `help`, the flag's text (a function: made when the flags are defined); `kind`, its type on the
  command line and in flag files (default: the default's type); `minimum` / `maximum`, the
  bounds `validate()` and the flag enforce; `choices`, the values allowed (a function: read when
  used); `fixed_on_resume`, a resumed run must keep it (`--resume` refuses a change: the run's
  data, supernet or sampling would no longer be the saved one's); `flag`, "own" (defined from
  this declaration) or "shared" (defined with the retraining's flags, `utils/run_flags.py`)."""
  metadata = {"help": help, "kind": kind or type(default), "fixed_on_resume": fixed_on_resume,
              "flag": flag}
  for key, value in (("minimum", minimum), ("maximum", maximum), ("choices", choices)):
    if value is not None:
      metadata[key] = value
  return dataclasses.field(default=default, metadata=metadata)


def _space_names():
  from proxyless_tf.space.space import space_names
  return space_names()


def _spaces_help():
  from proxyless_tf.space.space import spaces_help
  return spaces_help()


def choices_of(field) -> tuple | None:
  choices = field.metadata.get("choices")
  return tuple(choices() if callable(choices) else choices) if choices is not None else None


def options() -> list:
  """Every declared option (the fields of `SearchConfig` but `out`)."""
  return [f for f in dataclasses.fields(SearchConfig) if "help" in f.metadata]


def coerce(name: str, value):
  """A text value (a flag file's, the API's) as the option's declared kind; other values pass."""
  field = SearchConfig.__dataclass_fields__[name]
  kind = field.metadata.get("kind", str)
  if not isinstance(value, str) or kind is str:
    return value
  if kind is bool:
    return value.strip().lower() in ("1", "true", "yes")
  if kind is int:  # "3.5" stays a number, and validate() says what is wrong with it
    return float(value) if any(c in value for c in ".eE") else int(value)
  return float(value)


_UNIT = "in the target's unit (ms for cpu/mobile/gpu tables, MMACs for flops)"


@dataclasses.dataclass
class SearchConfig:
  out: str
  space: str = option("small", fixed_on_resume=True, choices=_space_names, help=_spaces_help)
  width_mult: float = option(1.0, fixed_on_resume=True, help="Width multiplier of the search space.")
  dataset: str = option("fashion_mnist_local", fixed_on_resume=True,
                        help="fashion_mnist_local, folder:PATH, tfrecord:PREFIX, or a "
                        "tensorflow-datasets name prepared under --data_dir.")
  data_dir: str | None = option(None, kind=str, help="Where the dataset's files are.")
  input_size: int | None = option(None, kind=int, fixed_on_resume=True, minimum=1, maximum=4096,
                                  help="Input resolution (default: the space's).")
  max_train_examples: int = option(0, minimum=0,
                                   help="Use at most this many training images (0: all).")
  valid_per_class: int = option(50, fixed_on_resume=True, minimum=1,
                                help="Held-out images per class (arch steps).")
  batch_size: int = option(256, fixed_on_resume=True, minimum=1, help="Batch size.")
  warmup_epochs: int = option(40, minimum=0, help="Weight-only epochs on random paths.")
  epochs: int = option(120, minimum=0, help="Search epochs.")
  steps_per_epoch: int = option(0, minimum=0,
                                help="Weight steps per epoch (0: one pass over the data).")
  warmup_lr: float = option(0.05, help="Initial (cosine) lr of the warm-up.")
  lr: float = option(0.025, help="Initial (cosine) lr of the search phase.")
  momentum: float = option(0.9, minimum=0.0, maximum=1.0, help="SGD momentum (Nesterov).")
  weight_decay: float = option(4e-5, minimum=0.0, help="Weight decay.")
  label_smoothing: float = option(0.1, minimum=0.0, maximum=1.0,
                                  help="Label smoothing of weight steps.")
  arch_algo: str = option("grad", fixed_on_resume=True, choices=tuple(ARCH_UPDATES),
                          help="Gradient (binary gates) or REINFORCE.")
  arch_mode: str = option("full_v2", fixed_on_resume=True, choices=ARCH_MODES,
                          help="Gate-gradient mode.")
  weight_sharing: str = option(
      "independent", fixed_on_resume=True, choices=WEIGHT_SHARING,
      help="Supernet candidates: own weights each (the paper) or nested in one set of kernels "
      "(learns several times faster in short warm-ups; see BENCHMARKS.md).")
  arch_lr: float = option(1e-3, help="Adam lr of the architecture logits.")
  arch_update_every: int = option(5, minimum=1, help="Weight steps per arch step.")
  rl_updates_per_epoch: int = option(300, minimum=1, help="REINFORCE updates per epoch.")
  rl_samples: int = option(10, minimum=1, help="Architectures sampled per REINFORCE update.")
  latency_loss: str = option("mul_log", choices=LATENCY_LOSSES,
                             help="How expected latency enters the arch loss.")
  ref_latency: float = option(80.0, help=f"Reference latency of mul_log / add_linear, {_UNIT}.")
  loss_alpha: float = option(0.2, minimum=0.0, help="mul_log: alpha.")
  loss_beta: float = option(0.3, minimum=0.0, help="mul_log: beta.")
  loss_lambda: float = option(0.1, minimum=0.0, help="add_linear: lambda.")
  checkpoint_every: int = option(200, minimum=1, help="Steps between checkpoints.")
  arch_skip_epochs: int = option(1, minimum=0, help="Search epochs without arch updates after "
                                 "warm-up (the original skips the first).")
  target_latency: float | str = option(
      0.0, kind=str, fixed_on_resume=True,
      help=f"Requested latency: a number {_UNIT}, or a ratio to the space's reference net (k3 e6 "
      "everywhere) on the same cost model, e.g. 0.8x (the same point of the trade-off on any "
      "machine); 0: off. The latency weight adapts so the derived net lands on it; "
      "--latency_loss/--ref_latency/--loss_lambda are then unused.")
  target_latency_rate: float = option(0.05, minimum=0.0, help="Step of the requested-latency "
                                      "multiplier per arch update (per unit of relative latency "
                                      "error).")
  seed: int = option(0, fixed_on_resume=True, minimum=0,
                     help="Seed of data order, sampling and init.")
  max_steps: int = option(0, minimum=0,
                          help="Stop after this many total steps (checkpointed; 0: all).")
  deterministic: bool = option(True, help="TensorFlow op determinism: the same flags and seed "
                               "give the same losses and arch.json (and a killed, resumed run "
                               "the same as an uninterrupted one).")
  strategy: str = option("default", choices=STRATEGIES, flag="shared",
                         help="tf.distribute strategy (utils/run_flags.py).")
  stream: str = option(run_flags.STREAM_DEFAULT, choices=STREAM_CHOICES, flag="shared",
                       help="Read the dataset into memory, stream it, or by its size.")
  valid_fraction: float = option(run_flags.VALID_FRACTION_DEFAULT, flag="shared",
                                 help="Streamed data: the held-out share.")
  augment: str = option(run_flags.AUGMENT_DEFAULT, choices=AUGMENTS, flag="shared",
                        help="Streamed data: training augmentation.")
  dtype_policy: str = option("float32", fixed_on_resume=True, flag="shared",
                             help="Keras dtype policy (with loss scaling for mixed_float16).")
  rerank_candidates: int = option(
      0, minimum=0, help="After the search: train the derived net and nets of its cost drawn "
      "from the learned distribution briefly from scratch and keep the best on held-out training "
      "images (0: off; in-memory data only).")
  rerank_epochs: int = option(1, minimum=1, help="Re-ranking: epochs per candidate.")
  rerank_seeds: int = option(2, minimum=1, help="Re-ranking: seeds per candidate (mean).")
  rerank_train_examples: int = option(24000, minimum=1,
                                      help="Re-ranking: training images per candidate.")
  rerank_valid_examples: int = option(5000, minimum=1, help="Re-ranking: held-out training images "
                                      "that score the candidates (at most 1/5 of the split).")
  verify_latency: bool = option(True, help="With a latency table of this host (--target=cpu): "
                                "after the search, time the derived net next to the reference "
                                "net and print requested / predicted / measured, in ms and as a "
                                "ratio.")

  def validate(self) -> None:
    """Every declared bound and choice, then what involves several options: one line naming the
    flag for the first thing wrong."""
    for field in options():
      value = getattr(self, field.name)
      if value is None or field.name == "space":  # a space's name: get_space() lists them
        continue
      choices = choices_of(field)
      if choices is not None and value not in choices:
        raise UserError(f"--{field.name} must be one of {', '.join(map(str, choices))}, got "
                        f"{value!r}")
      kind = field.metadata["kind"]
      if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise UserError(f"--{field.name} must be a number, got {value!r}")
      if kind is int and not float(value).is_integer():
        raise UserError(f"--{field.name} must be an integer, got {value!r}")
      minimum, maximum = field.metadata.get("minimum"), field.metadata.get("maximum")
      if minimum is not None and value < minimum or maximum is not None and value > maximum:
        bound = (f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]")
        raise UserError(f"--{field.name} must be {bound}, got {value}")
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
    if not 0 < self.valid_fraction < 0.5:
      raise UserError(f"--valid_fraction must be in (0, 0.5), got {self.valid_fraction}")
    check_policy(self.dtype_policy)
    if os.path.exists(self.out) and not os.path.isdir(self.out):
      raise UserError(f"--out {self.out} is a file; give a run directory")
