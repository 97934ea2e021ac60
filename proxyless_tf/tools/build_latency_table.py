"""Builds a latency lookup table for a search space by timing every distinct op on the target.

  python -m proxyless_tf.tools.build_latency_table --space=small --device=host --num_threads=1 \
      --precision=float --out=tables/host_small_float_t1.json
  python -m proxyless_tf.tools.build_latency_table --space=proxyless --device=android --serial=A --serial=B \
      --num_threads=1 --out=tables/pixel_proxyless_float.json [--use_gpu] [--benchmark_binary=...]
  python -m proxyless_tf.tools.build_latency_table --space=proxyless --device=host --processes=8 ...  # 8 cores
  KERAS_BACKEND=jax python -m proxyless_tf.tools.build_latency_table --space=proxyless --device=gpu \
      --batch_size=8 --precision=float16 --out=tables/gpu_proxyless_b8_f16.json  # --target=gpu

Interrupted builds keep what they measured: run the same command again to finish.
"""

from __future__ import annotations


from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.utils.cli import run_main
from proxyless_tf.utils import space_flags
from proxyless_tf.utils.space_flags import define_space_flags, space_from_flags

FLAGS = flags.FLAGS
define_space_flags("small")
flags.adopt_module_key_flags(space_flags)  # --help lists --space and the shape overrides
flags.DEFINE_enum("device", "host", ["host", "android", "gpu"], "Where to measure: host (LiteRT "
                  "on this CPU), android (a phone over adb), gpu (this machine's GPU through XLA, "
                  "--target=gpu; its CPU where no GPU is visible).")
flags.DEFINE_multi_string("serial", None, "adb serial(s); several spread the ops over phones.")
flags.DEFINE_integer("num_threads", 1, "Threads.", lower_bound=1)
flags.DEFINE_integer("processes", 1, "host: measure in this many processes at once, each pinned "
                     "to its own --num_threads cores (a many-core machine builds N times "
                     "faster; ops timed alone on their cores as in a serial build).",
                     lower_bound=1, upper_bound=256)
flags.DEFINE_enum("precision", "float", ["float", "int8", "float32", "float16", "bfloat16"],
                  "Op models' precision: float / int8 TFLite (host, android); float32 (= float), "
                  "float16, bfloat16 (gpu).")
flags.DEFINE_integer("batch_size", 8, "gpu: the batch each op is timed at (the paper's: 8).",
                     lower_bound=1)
flags.DEFINE_bool("use_gpu", False, "android: the phone's GPU delegate (--target=phone_gpu).")
flags.DEFINE_bool("use_xnnpack", True, "android: XNNPACK on the CPU (what an app gets by default); "
                  "--nouse_xnnpack measures TFLite's builtin CPU kernels.")
flags.DEFINE_bool("split_large_depthwise", None, "Time the ops as the export ships them for "
                  "XNNPACK: depthwise convs over 25 taps split into pieces (default: on, except "
                  "with --use_gpu or --nouse_xnnpack, where the export should turn it off too).")
flags.DEFINE_integer("self_check_samples", None, "After the ops, measure this many random "
                     "architectures end to end (each after the canary), fit the corrections, "
                     "store the best and what the check saw (default: 30 on host, 0 on android; "
                     "0: skip).", lower_bound=0)
flags.DEFINE_string("benchmark_binary", None, "android: local benchmark_model to push first.")
flags.DEFINE_integer("rounds", None, "Interleaved rounds over all ops; an op's entry is the "
                     "median of its rounds (default: 5 on host, 1 on android).", lower_bound=1)
flags.DEFINE_integer("warmup", None, "Untimed runs per op and round (default: 10 host, 20 android).",
                     lower_bound=0)
flags.DEFINE_integer("runs", None, "Timed runs per op and round (default: 30 host, 100 android).",
                     lower_bound=1)
flags.DEFINE_string("out", None, "Table JSON to write (resumed if it exists).")


def _given(**flags_) -> dict:
  """Only the flags the user set: the measurers' own defaults (host vs phone) hold otherwise."""
  return {k: v for k, v in flags_.items() if v is not None}


def main(argv):
  if len(argv) > 1:
    raise UserError(f"unexpected arguments {argv[1:]}")
  if not FLAGS.out:
    raise UserError("--out=TABLE.json is required")
  from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
  from proxyless_tf.latency.builder import build_space_table, host_metadata
  from proxyless_tf.latency.identity import android_identity, fingerprint
  from proxyless_tf.latency.measure import (AndroidMeasurer, HostMeasurer,
                                            host_process_measurers)
  space = space_from_flags()
  xnnpack = not FLAGS.use_gpu and (FLAGS.device == "host" or FLAGS.use_xnnpack)
  split = FLAGS.split_large_depthwise if FLAGS.split_large_depthwise is not None else xnnpack
  max_taps = XNNPACK_MAX_TAPS if split else None
  if FLAGS.device != "host" and FLAGS.processes > 1:
    raise UserError("--processes is for --device=host; give several --serial to spread a phone "
                    "build over phones")
  if FLAGS.device == "gpu":
    if FLAGS.serial or FLAGS.use_gpu or FLAGS.processes > 1:
      raise UserError("--serial/--use_gpu/--processes are for --device=android/host; "
                      "--device=gpu times this machine's GPU in one process")
    from proxyless_tf.latency.xla import XlaMeasurer, check_dtype, xla_metadata
    precision = check_dtype(FLAGS.precision)
    measurers = [XlaMeasurer(FLAGS.batch_size, precision,
                             **_given(warmup=FLAGS.warmup, runs=FLAGS.runs))]
    metadata = xla_metadata(FLAGS.batch_size, precision)
    max_taps = None
  elif FLAGS.precision not in ("float", "int8"):
    raise UserError(f"--precision={FLAGS.precision} is for --device=gpu; host and android "
                    "measure float or int8 TFLite models")
  elif FLAGS.device == "host":
    if FLAGS.serial or FLAGS.use_gpu:
      raise UserError("--serial/--use_gpu need --device=android")
    if FLAGS.processes > 1:
      measurers = host_process_measurers(FLAGS.processes, FLAGS.num_threads,
                                         max_depthwise_taps=max_taps,
                                         **_given(warmup=FLAGS.warmup, runs=FLAGS.runs))
    else:
      measurers = [HostMeasurer(FLAGS.num_threads, max_depthwise_taps=max_taps,
                                **_given(warmup=FLAGS.warmup, runs=FLAGS.runs))]
    metadata = host_metadata(FLAGS.num_threads, FLAGS.precision, max_taps)
  else:
    delegate = "gpu" if FLAGS.use_gpu else ("xnnpack" if FLAGS.use_xnnpack else "none")
    measurers = [AndroidMeasurer(s, FLAGS.num_threads, delegate=delegate,
                                 benchmark_binary=FLAGS.benchmark_binary,
                                 max_depthwise_taps=max_taps,
                                 **_given(warmup=FLAGS.warmup, runs=FLAGS.runs))
                 for s in (FLAGS.serial or [None])]
    first = measurers[0].adb
    identity = android_identity(first)
    metadata = {"device": f"android: {identity['model']}", "cpu": identity["soc"],
                "runtime": "benchmark_model", "threads": FLAGS.num_threads, "delegate": delegate,
                "precision": FLAGS.precision, "depthwise_max_taps": max_taps,
                "identity": identity, "fingerprint": fingerprint(identity), "estimated": False,
                "serials": [m.adb.serial for m in measurers],
                "target": "phone_gpu" if delegate == "gpu" else "mobile"}
  samples = FLAGS.self_check_samples
  if samples is None:
    from proxyless_tf.latency.host_cache import SELF_CHECK_SAMPLES, XLA_SELF_CHECK_SAMPLES
    samples = {"host": SELF_CHECK_SAMPLES, "gpu": XLA_SELF_CHECK_SAMPLES}.get(FLAGS.device, 0)
  if samples < 0 or samples in (1, 2, 3):
    raise UserError(f"--self_check_samples must be 0 (skip) or >= 4, got {samples}")
  from proxyless_tf.utils.run_lock import hold_file
  hold_file(FLAGS.out, "latency table build")  # one build per table file
  table = build_space_table(space, FLAGS.out, measurers, metadata["precision"], metadata,
                            rounds=FLAGS.rounds, self_check_samples=samples)
  print(f"wrote {FLAGS.out}: {len(table.entries)} ops, built in "
        f"{table.metadata['build_seconds']:.0f}s ({metadata['device']}, backend {metadata['delegate']}"
        f"{', large depthwise convs split' if max_taps else ''})")


if __name__ == "__main__":
  run_main(main)
