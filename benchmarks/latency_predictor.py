"""Latency predictor validation on this host: table build time and predicted-vs-measured error.

  python benchmarks/latency_predictor.py [--samples=30 --rounds=5]

For each (space, precision): builds the 1-thread host table into tables/ (resumed if present;
the build time is reported from the table's metadata), then validates it twice on random
architectures of the space. The fit run (seed 1) measures the plain sum of op latencies and fits
the calibration (error reported leave-one-out); the check run (seed 2) draws other architectures,
measured minutes later, and reports the plain sum and the stored calibration on them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.report import BENCHMARKS_MD, publish  # noqa: E402
from proxyless_tf.benchmark.host import cpu_model  # noqa: E402
from proxyless_tf.latency.builder import build_space_table, host_metadata  # noqa: E402
from proxyless_tf.latency.identity import fingerprint, host_identity  # noqa: E402
from proxyless_tf.latency.measure import HostMeasurer  # noqa: E402
from proxyless_tf.latency.validate import measurer_for, validate_table  # noqa: E402
from proxyless_tf.space.space import get_space  # noqa: E402


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--samples", type=int, default=30)
  parser.add_argument("--rounds", type=int, default=5)
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
    fitted = validate_table(table, args.samples, args.rounds, seed=1, fit=True,
                            measure=measurer_for(table.metadata))
    checked = validate_table(table, args.samples, args.rounds, seed=2, fit=False,
                             measure=measurer_for(table.metadata))
    rows.append((space_name, precision, len(table.entries), table.metadata["build_seconds"],
                 table.metadata.get("rounds", 1), fitted, checked))
  ident = host_identity()
  lines = ["## Latency predictor on this host (LiteRT, 1 thread)", "",
           f"Command: `python benchmarks/latency_predictor.py --samples={args.samples} "
           f"--rounds={args.rounds}`  ",
           f"{time.strftime('%Y-%m-%d')}, {cpu_model()} (identity: family "
           f"{ident.get('family')} model {ident.get('model')} stepping {ident.get('stepping')}, "
           f"{ident.get('cpus')} CPUs, ISA {' '.join(ident.get('isa', []))}; fingerprint "
           f"{fingerprint(ident)}). Ops timed as exported (depthwise convs over 25 taps split "
           f"for XNNPACK). Tables: every op in {rows[0][4]} "
           "interleaved rounds of 30 runs (median of the round medians). Random architectures of "
           f"each space, {args.samples} per run; measured = median over {args.rounds} interleaved "
           "rounds of the per-round median of 50 runs. Fit run (seed 1): plain sum of the table's "
           "entries, and measured ~ offset + scale * sum fit to minimize the mean absolute % error, "
           "its error leave-one-out. Check run (seed 2): other architectures, measured after the "
           "fit; the plain sum and the stored calibration on them. Round spread = median over samples "
           "of the relative deviation of their round medians (quiet host: < 0.5%; above "
           "1.5% the run is flagged busy and nothing is fitted).", "",
           "| space | precision | ops | build s | mean measured ms | fit run: sum MAE % | "
           "fit run: calibrated MAE % (leave-one-out) | check run: sum MAE % | RMSE ms | "
           "rank corr | check run: calibrated MAE % | RMSE ms | rank corr | scale, offset | "
           "round spread % (fit / check) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
  new_rows = {}
  for space_name, precision, ops, seconds, _, fitted, checked in rows:
    loo = f"{fitted['loo_fit']['mae_pct']:.2f}" if "loo_fit" in fitted else "-"
    plain, calibrated = checked["raw"], checked["all"]
    if fitted["busy"]:
      stored = "not fitted (machine busy)"
    elif fitted["stored_calibration"]:
      stored = f"{fitted['fit']['scale']:.3f}, {fitted['fit']['offset']:+.4f}"
    else:
      stored = "not stored (does not help)"
    new_rows[(space_name, precision)] = (f"| {space_name} | {precision} | {ops} | {seconds:.0f} | "
                 f"{checked['mean_measured_ms']:.3f} | {fitted['raw']['mae_pct']:.2f} | {loo} | "
                 f"{plain['mae_pct']:.2f} | {plain['rmse']:.4f} | {plain['rank_corr']:.3f} | "
                 f"{calibrated['mae_pct']:.2f} | {calibrated['rmse']:.4f} | "
                 f"{calibrated['rank_corr']:.3f} | {stored} | {fitted['round_spread_pct']:.2f} / "
                 f"{checked['round_spread_pct']:.2f} |")
  # rows of combos not rerun now stay as they were (`--combos` reruns some of them)
  kept = {tuple(line.split(" | ")[:2]): line for line in previous_rows()}
  kept.update({(f"| {sp}", pr): row for (sp, pr), row in new_rows.items()})
  lines += [kept[k] for k in [(f"| {sp}", pr) for sp in ("small", "proxyless")
                              for pr in ("float", "int8")] if k in kept]
  publish("latency_predictor", lines)


def previous_rows() -> list[str]:
  """The table rows of the section now in BENCHMARKS.md."""
  import re
  if not os.path.exists(BENCHMARKS_MD):
    return []
  section = re.search(r"<!-- begin latency_predictor -->(.*?)<!-- end latency_predictor -->",
                      open(BENCHMARKS_MD).read(), re.S)
  if not section:
    return []
  return [line for line in section.group(1).splitlines()
          if line.startswith("| small |") or line.startswith("| proxyless |")]


if __name__ == "__main__":
  main()
