"""The search's flags, shared by `python -m proxyless_tf.search` and `proxyless_tf.specialize`.

`--target=T` fills every flag not given on the command line from `flags/T.flags`, so a target
brings its latency table, reference latency and run defaults; explicit flags always win.
"""

from __future__ import annotations

import dataclasses
import os

from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.search.config import SearchConfig, choices_of, options
from proxyless_tf.utils.files import PACKAGE_DIR
from proxyless_tf.utils.run_flags import define_strategy_flags, define_stream_flags

FLAGS_DIR = os.path.join(PACKAGE_DIR, "flags")
from proxyless_tf.latency.targets import TARGETS  # noqa: E402  (one list, with what each means)

FLAGS = flags.FLAGS


def define_option_flag(field, flag_values=FLAGS) -> None:
  """The flag of one search option, made from its declaration (`search/config.py`): its kind,
  default, help, bounds and choices."""
  meta = field.metadata
  text = meta["help"]() if callable(meta["help"]) else meta["help"]
  choices = choices_of(field)
  kind, default = meta["kind"], field.default
  bounds = {"lower_bound": meta.get("minimum"), "upper_bound": meta.get("maximum")}
  if choices is not None:
    flags.DEFINE_enum(field.name, default, [str(c) for c in choices], text,
                      flag_values=flag_values)
  elif kind is bool:
    flags.DEFINE_bool(field.name, default, text, flag_values=flag_values)
  elif kind is int:
    flags.DEFINE_integer(field.name, default, text, flag_values=flag_values, **bounds)
  elif kind is float:
    flags.DEFINE_float(field.name, default, text, flag_values=flag_values, **bounds)
  else:
    flags.DEFINE_string(field.name, None if default is None else str(default), text,
                        flag_values=flag_values)


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
  define_strategy_flags()  # the options shared with the retraining (declared flag="shared")
  define_stream_flags()
  for field in options():
    if field.metadata["flag"] == "own":
      define_option_flag(field)
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


def start_search_command(argv, sub_folder: str | None = None) -> SearchConfig:
  """What every command that runs a search does first, in order: refuse stray arguments, fill the
  target's defaults, split the host CPU before TensorFlow's runtime starts, turn on determinism,
  and read and validate the search's options (the search in `--out/SUB_FOLDER` when given: a
  target's flag file may set --out)."""
  if len(argv) > 1:
    raise UserError(f"unexpected arguments {argv[1:]}; all options are --flags")
  apply_target_defaults(FLAGS.target)
  from proxyless_tf.utils.strategy import split_host_cpu
  split_host_cpu(FLAGS.cpu_devices)  # before anything starts TensorFlow's runtime
  if FLAGS.deterministic:
    from proxyless_tf.utils.determinism import enable_determinism
    enable_determinism()
  config = search_config_from_flags()
  if sub_folder is not None:
    config.out = os.path.join(config.out, sub_folder)
  config.validate()
  return config


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
