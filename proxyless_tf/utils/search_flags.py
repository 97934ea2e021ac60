"""The search's flags, shared by `python -m proxyless_tf.search` and `proxyless_tf.specialize`.

`--target=T` fills every flag not given on the command line from `flags/T.flags`, so a target
brings its latency table, reference latency and run defaults; explicit flags always win.
"""

from __future__ import annotations

import dataclasses
import os

from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.search.config import SearchConfig
from proxyless_tf.utils.files import PACKAGE_DIR
from proxyless_tf.utils.run_flags import define_strategy_flags, define_stream_flags  # noqa: F401

FLAGS_DIR = os.path.join(PACKAGE_DIR, "flags")
from proxyless_tf.latency.targets import TARGETS  # noqa: E402  (one list, with what each means)
_D = SearchConfig(out="")

FLAGS = flags.FLAGS


def define_search_flags(default_out: str = "runs/search") -> None:
  flags.DEFINE_enum("target", "flops", TARGETS, "Hardware target; loads flags/TARGET.flags defaults.")
  flags.DEFINE_string("out", default_out, "Run directory: checkpoints, TensorBoard, arch JSON/PNG.")
  flags.DEFINE_bool("resume", False, "Continue the search in --out from its last checkpoint.")
  flags.DEFINE_string("latency_table", None, "Latency table JSON/YAML (mobile/cpu/gpu/phone_gpu "
                      "targets; gpu and cpu measure this machine when it is omitted).")
  flags.DEFINE_enum("precision", "float", ["float", "int8", "float32", "float16", "bfloat16"],
                    "Deployment precision the table measures: float or int8 TFLite (cpu, mobile, "
                    "phone_gpu); float (= float32), float16 or bfloat16 on --target=gpu.")
  flags.DEFINE_integer("latency_batch_size", 8, "gpu target: the batch the latency table times "
                       "(the paper's GPU setting: 8).", lower_bound=1)
  flags.DEFINE_integer("num_threads", 1, "Threads of the latency measurements (cpu target).",
                       lower_bound=1)
  flags.DEFINE_bool("rebuild_latency_table", False, "cpu / gpu targets: measure this machine's "
                    "table anew (after a quick check said the cached one no longer holds).")
  flags.DEFINE_bool("strict_table_identity", False, "cpu / gpu targets: a --latency_table "
                    "measured on another machine is an error instead of a warning.")
  flags.DEFINE_bool("split_large_depthwise", True, "Price ops as the export ships them for XNNPACK "
                    "(depthwise convs over 25 taps split into pieces); cpu target without a table.")
  from proxyless_tf.space.space import space_names, spaces_help
  flags.DEFINE_enum("space", _D.space, space_names(), spaces_help())
  flags.DEFINE_float("width_mult", _D.width_mult, "Width multiplier of the search space.")
  flags.DEFINE_string("dataset", _D.dataset, "fashion_mnist_local, folder:PATH, tfrecord:PREFIX, "
                      "or a tensorflow-datasets name prepared under --data_dir.")
  flags.DEFINE_string("data_dir", None, "Where the dataset's files are.")
  flags.DEFINE_integer("input_size", None, "Input resolution (default: the space's).",
                       lower_bound=1)
  flags.DEFINE_integer("max_train_examples", 0, "Use at most this many training images (0: all).",
                       lower_bound=0)
  flags.DEFINE_integer("valid_per_class", _D.valid_per_class, "Held-out images per class (arch steps).",
                       lower_bound=1)
  flags.DEFINE_integer("batch_size", _D.batch_size, "Batch size.", lower_bound=1)
  flags.DEFINE_integer("warmup_epochs", _D.warmup_epochs, "Weight-only epochs on random paths.",
                       lower_bound=0)
  flags.DEFINE_integer("epochs", _D.epochs, "Search epochs.", lower_bound=0)
  flags.DEFINE_integer("steps_per_epoch", 0, "Weight steps per epoch (0: one pass over the data).",
                       lower_bound=0)
  flags.DEFINE_float("warmup_lr", _D.warmup_lr, "Initial (cosine) lr of the warm-up.")
  flags.DEFINE_float("lr", _D.lr, "Initial (cosine) lr of the search phase.")
  flags.DEFINE_float("momentum", _D.momentum, "SGD momentum (Nesterov).",
                     lower_bound=0.0, upper_bound=1.0)
  flags.DEFINE_float("weight_decay", _D.weight_decay, "Weight decay.", lower_bound=0.0)
  flags.DEFINE_float("label_smoothing", _D.label_smoothing, "Label smoothing of weight steps.",
                     lower_bound=0.0, upper_bound=1.0)
  flags.DEFINE_enum("arch_algo", _D.arch_algo, ["grad", "rl"], "Gradient (binary gates) or REINFORCE.")
  flags.DEFINE_enum("arch_mode", _D.arch_mode, ["full_v2", "two", "full"], "Gate-gradient mode.")
  flags.DEFINE_enum("weight_sharing", _D.weight_sharing, ["independent", "nested"],
                    "Supernet candidates: own weights each (the paper) or nested in one set of "
                    "kernels (learns several times faster in short warm-ups; see BENCHMARKS.md).")
  flags.DEFINE_float("arch_lr", _D.arch_lr, "Adam lr of the architecture logits.")
  flags.DEFINE_integer("arch_update_every", _D.arch_update_every, "Weight steps per arch step.",
                       lower_bound=1)
  flags.DEFINE_integer("rl_updates_per_epoch", _D.rl_updates_per_epoch, "REINFORCE updates per epoch.",
                       lower_bound=1)
  flags.DEFINE_integer("rl_samples", _D.rl_samples, "Architectures sampled per REINFORCE update.",
                       lower_bound=1)
  flags.DEFINE_enum("latency_loss", _D.latency_loss, ["mul_log", "add_linear", "none"],
                    "How expected latency enters the arch loss.")
  flags.DEFINE_float("ref_latency", _D.ref_latency, "Reference latency of mul_log / add_linear, "
                     "in the target's unit: ms for cpu/mobile/gpu tables, millions of "
                     "multiply-adds (MMACs) for flops.")
  flags.DEFINE_float("loss_alpha", _D.loss_alpha, "mul_log: alpha.", lower_bound=0.0)
  flags.DEFINE_float("loss_beta", _D.loss_beta, "mul_log: beta.", lower_bound=0.0)
  flags.DEFINE_float("loss_lambda", _D.loss_lambda, "add_linear: lambda.", lower_bound=0.0)
  flags.DEFINE_integer("checkpoint_every", _D.checkpoint_every, "Steps between checkpoints.",
                       lower_bound=1)
  flags.DEFINE_integer("arch_skip_epochs", _D.arch_skip_epochs, "Search epochs without arch updates "
                       "after warm-up (the original skips the first).", lower_bound=0)
  flags.DEFINE_string("target_latency", str(_D.target_latency), "Requested latency: a number in "
                      "the target's unit (ms for cpu/mobile/gpu tables, MMACs for flops), or a "
                      "ratio to the space's reference net (k3 e6 everywhere) on the same cost "
                      "model, e.g. 0.8x (the same point of the trade-off on any machine); 0: off. "
                      "The latency weight adapts so the derived net lands on it; "
                      "--latency_loss/--ref_latency/--loss_lambda are then unused.")
  flags.DEFINE_bool("verify_latency", _D.verify_latency, "With a latency table of this host "
                    "(--target=cpu): after the search, time the derived net next to the reference "
                    "net and print requested / predicted / measured, in ms and as a ratio.")
  flags.DEFINE_float("target_latency_rate", _D.target_latency_rate, "Step of the requested-latency "
                     "multiplier per arch update (per unit of relative latency error).",
                     lower_bound=0.0)
  flags.DEFINE_integer("seed", _D.seed, "Seed of data order, sampling and init.", lower_bound=0)
  flags.DEFINE_bool("deterministic", _D.deterministic, "TensorFlow op determinism: the same flags "
                    "and seed give the same losses and arch.json (and a killed, resumed run the "
                    "same as an uninterrupted one).")
  flags.DEFINE_integer("max_steps", 0, "Stop after this many total steps (checkpointed; 0: all).",
                       lower_bound=0)
  flags.DEFINE_integer("rerank_candidates", _D.rerank_candidates, "After the search: train the "
                       "derived net and nets of its cost drawn from the learned distribution "
                       "briefly from scratch and keep the best on held-out training images "
                       "(0: off; in-memory data only).", lower_bound=0)
  flags.DEFINE_integer("rerank_epochs", _D.rerank_epochs, "Re-ranking: epochs per candidate.",
                       lower_bound=1)
  flags.DEFINE_integer("rerank_seeds", _D.rerank_seeds, "Re-ranking: seeds per candidate (mean).",
                       lower_bound=1)
  flags.DEFINE_integer("rerank_train_examples", _D.rerank_train_examples, "Re-ranking: training "
                       "images per candidate.", lower_bound=1)
  flags.DEFINE_integer("rerank_valid_examples", _D.rerank_valid_examples, "Re-ranking: held-out "
                       "training images that score the candidates (at most 1/5 of the split).",
                       lower_bound=1)
  define_strategy_flags()
  define_stream_flags()


  for name in ("ref_latency", "lr", "warmup_lr", "arch_lr"):
    flags.register_validator(name, lambda v: v is None or v > 0,
                             message=f"--{name} must be > 0")


def read_flag_file(path: str) -> list[tuple[str, str]]:
  pairs = []
  with open(path) as f:
    for line in f:
      line = line.strip()
      if not line or line.startswith("#"):
        continue
      if not line.startswith("--") or "=" not in line:
        raise UserError(f"{path}: expected --name=value lines, got {line!r}")
      name, value = line[2:].split("=", 1)
      pairs.append((name, value))
  return pairs


def read_target_defaults(target: str) -> dict:
  """{flag: text value} of flags/TARGET.flags: the defaults a target brings (command line and
  Python API alike). `none` may have no file: the built-in defaults are its settings."""
  path = os.path.join(FLAGS_DIR, f"{target}.flags")
  if not os.path.exists(path):
    if target == "none":
      return {}
    raise UserError(f"--target={target}: its flag file {path} is missing (a broken install?); "
                    "reinstall proxyless_tf from its checkout (`bash install.sh`)")
  return {name: value for name, value in read_flag_file(path) if name != "target"}


def apply_target_defaults(target: str) -> None:
  path = os.path.join(FLAGS_DIR, f"{target}.flags")
  for name, value in read_target_defaults(target).items():
    if name not in FLAGS:
      raise UserError(f"{path}: unknown flag --{name}")
    if not FLAGS[name].present:
      FLAGS[name].parse(value)
      FLAGS[name].present = 0  # still a default: a later --flagfile or flag may override


def search_config_from_flags() -> SearchConfig:
  fields = {f.name for f in dataclasses.fields(SearchConfig)}
  return SearchConfig(**{name: FLAGS[name].value for name in fields})


def cost_model_from_flags(log=print):
  from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
  from proxyless_tf.latency.targets import cost_model_for_target
  return cost_model_for_target(
      FLAGS.target, table=FLAGS.latency_table, precision=FLAGS.precision,
      num_threads=FLAGS.num_threads,
      max_depthwise_taps=XNNPACK_MAX_TAPS if FLAGS.split_large_depthwise else None,
      rebuild_table=FLAGS.rebuild_latency_table, strict_identity=FLAGS.strict_table_identity,
      log=log, batch_size=FLAGS.latency_batch_size,
      estimate_uncovered=not FLAGS["latency_table"].present)
