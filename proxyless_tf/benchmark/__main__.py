"""Benchmark a .tflite on this host (LiteRT) or on an Android phone (adb + benchmark_model).

  python -m proxyless_tf.benchmark MODEL.tflite [--num_threads=N --warmup=W --runs=R --json=OUT]
  python -m proxyless_tf.benchmark MODEL.tflite --adb [--serial=S] [--use_gpu|--use_nnapi|--use_xnnpack]
      [--benchmark_binary=PATH/TO/benchmark_model]
  python -m proxyless_tf.benchmark MODEL.tflite --latency_table=T.json [--arch=ARCH.json]
      [--requested=0.8x|MS] [--reference=REF.tflite] [--rounds=5]

With --latency_table (a table of this host), MODEL is timed next to the reference net of the
table's space (k3 e6 everywhere, exported as the table's ops were; or --reference) and the
table's canary, in interleaved rounds: measured ms now and at the table's speed (the speed
factor), the ratio to the reference net, and with --arch / --requested the predicted and
requested values beside them.
"""

from __future__ import annotations

import json
import os

from absl import flags

from proxyless_tf.benchmark import benchmark_host, format_result
from proxyless_tf.benchmark.android import benchmark_android
from proxyless_tf.errors import UserError
from proxyless_tf.utils.cli import run_main
from proxyless_tf.utils.files import atomic_write_text

FLAGS = flags.FLAGS
flags.DEFINE_integer("num_threads", 1, "Interpreter threads.", lower_bound=1)
# benchmark_model's names (--num_runs, --warmup_runs); the older --runs / --warmup still work
flags.DEFINE_integer("warmup_runs", 10, "Untimed runs before timing.", lower_bound=0)
flags.DEFINE_integer("num_runs", 50, "Timed runs.", lower_bound=1)
flags.DEFINE_alias("warmup", "warmup_runs")
flags.DEFINE_alias("runs", "num_runs")
flags.DEFINE_string("json", None, "Also write the result as JSON to this path.")
flags.DEFINE_bool("adb", False, "Run on an Android phone through adb and benchmark_model.")
flags.DEFINE_string("serial", None, "adb device serial (needed when several are attached).")
flags.DEFINE_bool("use_gpu", False, "adb: GPU delegate (--use_gpu=true).")
flags.DEFINE_bool("use_nnapi", False, "adb: NNAPI delegate (--use_nnapi=true).")
flags.DEFINE_bool("use_xnnpack", True, "adb: XNNPACK on the CPU, what an app's LiteRT interpreter "
                  "uses by default; --nouse_xnnpack runs TFLite's builtin CPU kernels.")
flags.DEFINE_string("benchmark_binary", None, "adb: local benchmark_model binary to push first.")
flags.DEFINE_string("latency_table", None, "A latency table of this host: time MODEL side by side "
                    "with the reference net of its space and its canary.")
flags.DEFINE_string("reference", None, "With --latency_table: the reference .tflite (default: the "
                    "table space's k3 e6 net, exported here).")
flags.DEFINE_string("arch", None, "With --latency_table: MODEL's architecture JSON (predicted ms).")
flags.DEFINE_string("requested", None, "With --latency_table: the request, in ms or as a ratio to "
                    "the reference net (0.8x).")
flags.DEFINE_integer("rounds", 5, "With --latency_table: interleaved rounds.", lower_bound=1)


def side_by_side(model: str) -> None:
  from proxyless_tf.arch import load_arch
  from proxyless_tf.latency.table_space import space_from_metadata
  from proxyless_tf.latency.canary import canary_tflite
  from proxyless_tf.latency.side_by_side import compare, describe, is_host_table, time_pair
  from proxyless_tf.latency.table import TableCostModel, load_table
  from proxyless_tf.latency.validate import arch_tflite
  from proxyless_tf.search.target_latency import parse_request
  if not os.path.isfile(model):
    raise UserError(f"model file {model} does not exist")
  table = load_table(FLAGS.latency_table)
  if not is_host_table(table):
    raise UserError(f"--latency_table {FLAGS.latency_table} was measured on "
                    f"{table.metadata.get('device')!r}, not on this host's LiteRT")
  space = space_from_metadata(table.metadata)
  precision = table.metadata.get("precision", "float")
  taps = table.metadata.get("depthwise_max_taps")
  cost = TableCostModel(table)
  reference_arch = space.reference_arch()
  if FLAGS.reference:
    if not os.path.isfile(FLAGS.reference):
      raise UserError(f"--reference {FLAGS.reference} does not exist")
    reference = open(FLAGS.reference, "rb").read()
  else:
    reference = arch_tflite(reference_arch, precision, max_depthwise_taps=taps)
  predicted = cost.predict(load_arch(FLAGS.arch)) if FLAGS.arch else None
  request = None
  if FLAGS.requested:
    number, ratio = parse_request(FLAGS.requested, "--requested")
    ref_ms = cost.predict(reference_arch)
    request = {"target": number * ref_ms if ratio else number, "ratio": number if ratio else None,
               "reference": ref_ms}
  timed = time_pair(open(model, "rb").read(), reference,
                    canary_tflite(table),
                    FLAGS.rounds, FLAGS.num_runs, FLAGS.num_threads)
  result = compare(timed, table, predicted, cost.predict(reference_arch), request)
  print(describe(result, model))
  if FLAGS.json:
    atomic_write_text(FLAGS.json, json.dumps(result, indent=2) + "\n")


def main(argv):
  if len(argv) != 2:
    raise UserError("usage: python -m proxyless_tf.benchmark MODEL.tflite [--num_threads=N ...]")
  model = argv[1]
  if FLAGS.latency_table:
    if FLAGS.adb:
      raise UserError("--latency_table times MODEL on this host; drop --adb")
    return side_by_side(model)
  if FLAGS.arch or FLAGS.requested or FLAGS.reference:
    raise UserError("--arch/--requested/--reference need --latency_table (a table of this host)")
  if FLAGS.adb:
    # load it here first: a truncated or wrong file is one clear line, not a push and an
    # on-phone failure
    from proxyless_tf import litert
    if not os.path.isfile(model):
      raise UserError(f"model file {model} does not exist")
    litert.make_interpreter(model_path=model)
    chosen = [name for name in ("gpu", "nnapi") if FLAGS[f"use_{name}"].value]
    if len(chosen) > 1:
      raise UserError(f"pick at most one delegate, got {', '.join('--use_' + c for c in chosen)}")
    delegate = chosen[0] if chosen else ("xnnpack" if FLAGS.use_xnnpack else "none")
    result = benchmark_android(model, serial=FLAGS.serial, num_threads=FLAGS.num_threads,
                               warmup=FLAGS.warmup_runs, runs=FLAGS.num_runs, delegate=delegate,
                               benchmark_binary=FLAGS.benchmark_binary)
  else:
    if FLAGS.use_gpu or FLAGS.use_nnapi or FLAGS.serial:
      raise UserError("--use_gpu/--use_nnapi/--serial need --adb (the host runs LiteRT on the CPU)")
    result = benchmark_host(model, num_threads=FLAGS.num_threads, warmup=FLAGS.warmup_runs,
                            runs=FLAGS.num_runs)
  print(format_result(result))
  if FLAGS.json:
    atomic_write_text(FLAGS.json, json.dumps(result.to_dict(), indent=2) + "\n")


if __name__ == "__main__":
  run_main(main)
