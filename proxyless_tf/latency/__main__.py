"""`python -m proxyless_tf.latency validate --table=TABLE.json --samples=30 [--fit]`

Draws random architectures from the table's space, exports each to TFLite at the table's
precision, measures it end to end on the table's device (each right after the table's canary),
and compares with the predictor: raw, at the build's speed, and after the stored correction.
"""

from __future__ import annotations

import os

from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.utils.cli import run_main

FLAGS = flags.FLAGS
flags.DEFINE_string("table", None, "Latency table to validate.")
flags.DEFINE_integer("samples", 30, "Random architectures.", lower_bound=2)
flags.DEFINE_integer("rounds", 5, "Interleaved measurement rounds over all samples (median of "
                     "the round medians): a slow spell of the machine then cannot decide a sample.",
                     lower_bound=1)
flags.DEFINE_integer("runs", 50, "Timed runs per sample and round.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the random architectures.", lower_bound=0)
flags.DEFINE_bool("fit", False, "Fit each correction (global offset + scale, one factor per op "
                  "kind and resolution) on the samples, report their leave-one-out errors, and "
                  "store the best in the table's metadata (unless the machine is busy).")
flags.DEFINE_string("png", None, "Scatter plot path (default: next to the table).")
flags.DEFINE_string("serial", None, "android tables: adb serial.")


def main(argv):
  if len(argv) != 2 or argv[1] != "validate":
    raise UserError("usage: python -m proxyless_tf.latency validate --table=TABLE.json")
  if not FLAGS.table:
    raise UserError("--table is required")
  from proxyless_tf.latency import validate as V
  from proxyless_tf.latency.table import load_table
  table = load_table(FLAGS.table)
  report = V.validate_table(table, FLAGS.samples, FLAGS.rounds, FLAGS.seed, FLAGS.fit,
                          V.measurer_for(table.metadata, FLAGS.runs, FLAGS.serial))
  png = FLAGS.png or os.path.splitext(FLAGS.table)[0] + "_validation.png"
  V.scatter_png(png, report["predicted"], report["measured"],
                f"{os.path.basename(FLAGS.table)}: MAE "
                f"{V.metrics(report['predicted'], report['measured'])['mae_pct']:.1f}%")
  print(f"wrote {png}")


if __name__ == "__main__":
  run_main(main)
