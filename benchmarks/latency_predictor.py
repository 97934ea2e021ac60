"""Latency predictor validation on this host: table build time and predicted-vs-measured error.

  python benchmarks/latency_predictor.py [--samples=30 --rounds=3]

For each (space, precision): builds the 1-thread host table into tables/ (resumed if present;
the build time is reported from the table's metadata), then validates it on random architectures
of the space: the plain sum of op latencies on all samples, and the least-squares calibration fit
on half of them and evaluated on the other half.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.report import publish  # noqa: E402
from proxyless_tf.benchmark.host import cpu_model  # noqa: E402
from proxyless_tf.latency.builder import build_space_table, host_metadata  # noqa: E402
from proxyless_tf.latency.measure import HostMeasurer  # noqa: E402
from proxyless_tf.latency.validate import measurer_for, validate_table  # noqa: E402
from proxyless_tf.space.space import get_space  # noqa: E402


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--samples", type=int, default=30)
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--combos", default="small:float,small:int8,proxyless:float,proxyless:int8")
  args = parser.parse_args()
  rows = []
  for combo in args.combos.split(","):
    space_name, precision = combo.split(":")
    space = get_space(space_name)
    path = os.path.join(ROOT, "tables", f"host_{space_name}_{precision}_t1.json")
    table = build_space_table(space, path, [HostMeasurer(1)], precision,
                              host_metadata(1, precision))
    table.metadata.pop("calibration", None)  # validate the plain sum first, then refit
    report = validate_table(table, args.samples, args.rounds, seed=1, fit=True,
                            measure=measurer_for(table.metadata))
    report["table_rounds"] = table.metadata.get("rounds", 1)
    rows.append((space_name, precision, len(table.entries), table.metadata["build_seconds"], report))
  lines = ["## Latency predictor on this host (LiteRT, 1 thread)", "",
           f"Command: `python benchmarks/latency_predictor.py --samples={args.samples} "
           f"--rounds={args.rounds}`  ",
           f"{time.strftime('%Y-%m-%d')}, {cpu_model()}. Tables: every op in "
           f"{rows[0][4].get('table_rounds', '?')} interleaved rounds of 30 runs (median of the round "
           "medians). Random architectures of each space; measured = "
           f"median over {args.rounds} rounds of the per-round median of 50 runs. 'sum' = plain sum "
           "of table entries on all samples; 'calibrated' = measured ~ offset + scale * sum fit on "
           "half the samples, errors on the other half.", "",
           "| space | precision | ops | build s | mean measured ms | sum: MAE % | sum: RMSE ms | "
           "sum: rank corr | calibrated (held-out): MAE % | RMSE ms | rank corr | scale, offset |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
  for space_name, precision, ops, seconds, r in rows:
    a, f = r["all"], r["heldout_fit"]
    lines.append(f"| {space_name} | {precision} | {ops} | {seconds:.0f} | {r['mean_measured_ms']:.3f} | "
                 f"{a['mae_pct']:.2f} | {a['rmse']:.4f} | {a['rank_corr']:.3f} | {f['mae_pct']:.2f} | "
                 f"{f['rmse']:.4f} | {f['rank_corr']:.3f} | {r['fit']['scale']:.3f}, "
                 f"{r['fit']['offset']:+.4f} |")
  publish("latency_predictor", lines)


if __name__ == "__main__":
  main()
