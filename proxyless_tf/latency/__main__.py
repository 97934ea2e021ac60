"""`python -m proxyless_tf.latency validate --table=TABLE.json --samples=30 [--fit]`

Draws random architectures from the table's space, exports each to TFLite at the table's
precision, measures it end to end on the table's device, and compares with the predictor.
"""

from __future__ import annotations

import os

import numpy as np
from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.utils.cli import run_main

FLAGS = flags.FLAGS
flags.DEFINE_string("table", None, "Latency table to validate.")
flags.DEFINE_integer("samples", 30, "Random architectures.")
flags.DEFINE_integer("rounds", 3, "Measurement rounds over all samples (median of medians).")
flags.DEFINE_integer("runs", 50, "Timed runs per sample and round.")
flags.DEFINE_integer("seed", 0, "Seed of the random architectures.")
flags.DEFINE_bool("fit", False, "Fit scale/offset on half the samples, report on the other half, "
                  "and store them in the table's metadata.")
flags.DEFINE_string("png", None, "Scatter plot path (default: next to the table).")
flags.DEFINE_string("serial", None, "android tables: adb serial.")


def _measurer(meta):
  """(content -> median ms) on the table's device."""
  threads = int(meta.get("threads", 1))
  if str(meta.get("device", "")).startswith("android"):
    import tempfile
    from proxyless_tf.benchmark.android import Adb, benchmark_android
    adb = Adb(FLAGS.serial)

    def measure(content):
      with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sample.tflite")
        with open(path, "wb") as f:
          f.write(content)
        s = benchmark_android(path, num_threads=threads, runs=FLAGS.runs, adb=adb,
                              delegate=meta.get("delegate", "none")).summary
      return s["median_ms"] if s.get("median_ms") is not None else s["mean_ms"]
    return measure
  if not str(meta.get("device", "")).startswith("host"):
    raise UserError(f"cannot measure on device {meta.get('device')!r}: validation needs the "
                    "table's device (host, or an android phone via adb)")
  from proxyless_tf import litert
  from proxyless_tf.benchmark.host import time_interpreter

  def measure(content):
    interp = litert.make_interpreter(model_content=content, num_threads=threads)
    return float(np.median(time_interpreter(interp, warmup=10, runs=FLAGS.runs)))
  return measure


def main(argv):
  if len(argv) != 2 or argv[1] != "validate":
    raise UserError("usage: python -m proxyless_tf.latency validate --table=TABLE.json")
  if not FLAGS.table:
    raise UserError("--table is required")
  from proxyless_tf.latency.builder import space_from_metadata
  from proxyless_tf.latency.table import TableCostModel, load_table
  from proxyless_tf.latency import validate as V
  table = load_table(FLAGS.table)
  meta = table.metadata
  space = space_from_metadata(meta)
  model = TableCostModel(table)
  precision = meta.get("precision", "float")
  archs = list(V.random_archs(space, FLAGS.samples, FLAGS.seed))
  for arch in archs:
    model.check_covers(__import__("proxyless_tf.latency.ops", fromlist=["x"]).arch_ops(arch))
  print(f"exporting {len(archs)} random {space.name} architectures ({precision})")
  contents = [V.arch_tflite(a, precision) for a in archs]
  measure = _measurer(meta)
  rounds = np.array([[measure(c) for c in contents] for _ in range(FLAGS.rounds)])
  measured = np.median(rounds, axis=0)
  raw = np.array([V.raw_sum(table, a) for a in archs])
  scale, offset = table.calibration
  predicted = offset + scale * raw
  print(f"{'sample':<10} {'predicted':>10} {'measured':>10} {'err %':>7}")
  for a, p, m in zip(archs, predicted, measured):
    print(f"{a.name:<10} {p:>10.4f} {m:>10.4f} {100 * (p - m) / m:>7.1f}")
  before = V.metrics(predicted, measured)
  print(f"all {len(archs)}: MAE {before['mae_pct']:.2f}%  RMSE {before['rmse']:.4f} ms  rank corr "
        f"{before['rank_corr']:.3f}  bias {before['bias_pct']:+.1f}%  (calibration scale={scale:.4f} "
        f"offset={offset:.4f})")
  if FLAGS.fit:
    half = len(archs) // 2
    new_scale, new_offset = V.fit_calibration(raw[:half], measured[:half])
    held = slice(half, None)
    plain = V.metrics(raw[held], measured[held])
    fitted = V.metrics(new_offset + new_scale * raw[held], measured[held])
    print(f"fit on {half} samples: scale={new_scale:.4f} offset={new_offset:.4f} ms")
    print(f"held-out {len(archs) - half}: sum of ops MAE {plain['mae_pct']:.2f}% RMSE "
          f"{plain['rmse']:.4f} -> calibrated MAE {fitted['mae_pct']:.2f}% RMSE {fitted['rmse']:.4f} "
          f"rank corr {fitted['rank_corr']:.3f}")
    table.metadata["calibration"] = {"scale": new_scale, "offset": new_offset,
                                     "fit_samples": half, "heldout_mae_pct": fitted["mae_pct"]}
    table.save()
    predicted = new_offset + new_scale * raw
  png = FLAGS.png or os.path.splitext(FLAGS.table)[0] + "_validation.png"
  V.scatter_png(png, predicted, measured, f"{os.path.basename(FLAGS.table)}: "
                f"MAE {V.metrics(predicted, measured)['mae_pct']:.1f}%")
  print(f"wrote {png}")


if __name__ == "__main__":
  run_main(main)
