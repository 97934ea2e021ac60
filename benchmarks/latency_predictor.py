"""Latency predictor on this host: each correction, with and without the canary, on held-out nets.

  python -m benchmarks.latency_predictor [--samples=30 --check_samples=20 --rounds=5]
  python -m benchmarks.latency_predictor --recheck   # later: the same tables validated again

For each (space, precision): builds a fresh 1-thread host table (with the canary) into
tables/host_SPACE_PRECISION_t1.json, then
  fit run    (seed 1) random networks, each timed after the canary; every correction method
             (`correction.py`: sum, global, per_kind) fitted, its error leave-one-out;
  check run  (seed 2) other networks, measured after the fit: each method's fit from the fit run
             predicts them.
Each twice: with the canary (entries as ratio x the build's canary, networks at the build's
speed) and without it (entries' raw medians, networks' raw ms now). `--recheck` validates the
same tables again on new networks (seed 3) with their stored correction, to show whether it
still holds minutes to hours later.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

from benchmarks.common import ROOT, publish

import numpy as np

from proxyless_tf.benchmark.host import cpu_model
from proxyless_tf.latency import correction as K
from proxyless_tf.latency.builder import build_space_table, host_metadata
from proxyless_tf.latency.identity import fingerprint, host_identity
from proxyless_tf.latency.measure import HostMeasurer
from proxyless_tf.latency.table import load_table
from proxyless_tf.latency.validate import measurer_for, random_archs, validate_table
from proxyless_tf.space.space import get_space

RESULTS = os.path.join(ROOT, "benchmarks", "latency_predictor.json")


def without_canary(table):
  plain = copy.deepcopy(table)
  plain.metadata.pop("canary", None)
  plain.path = None
  return plain


def variants(table, space, seed, samples, report):
  """(designs per method, measured) with and without the canary for one run's networks."""
  archs = list(random_archs(space, samples, seed))
  return {"canary": (K.designs_for(table, archs, space), np.array(report["measured"])),
          "no canary": (K.designs_for(without_canary(table), archs, space),
                        np.array(report["measured_now"]))}


def host_line(ident) -> str:
  return (f"{cpu_model()} (family {ident.get('family')} model {ident.get('model')} stepping "
          f"{ident.get('stepping')}, {ident.get('cpus')} CPUs, fingerprint {fingerprint(ident)})")


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--samples", type=int, default=30)
  parser.add_argument("--check_samples", type=int, default=20)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--combos", default="small:float,small:int8,proxyless:float,proxyless:int8")
  parser.add_argument("--recheck", action="store_true")
  args = parser.parse_args()
  results = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
  for combo in args.combos.split(","):
    space_name, precision = combo.split(":")
    space = get_space(space_name)
    path = os.path.join(ROOT, "tables", f"host_{space_name}_{precision}_t1.json")
    if args.recheck:
      table = load_table(path)
      check = validate_table(table, args.check_samples, 3, seed=3, fit=False,
                             measure=measurer_for(table.metadata))
      built = results[combo]["built"]
      results[combo]["recheck"] = {
          "minutes_after_build": round((time.time() - built) / 60, 1),
          "stored_mae_pct": check["all"]["mae_pct"], "raw_mae_pct": check["raw"]["mae_pct"],
          "speed_factor": check["speed_factor"], "noise_pct": check["noise_pct"],
          "method": check["method"]}
      json.dump(results, open(RESULTS, "w"), indent=1)
      continue
    if os.path.exists(path):
      os.remove(path)  # a fresh table: the point is what a new user's build gives
    start = time.time()
    table = build_space_table(space, path, [HostMeasurer(1)], precision,
                              host_metadata(1, precision))
    fitted = validate_table(table, args.samples, args.rounds, seed=1, fit=True,
                            measure=measurer_for(table.metadata))
    checked = validate_table(table, args.check_samples, 3, seed=2, fit=False,
                             measure=measurer_for(table.metadata))
    fit_v = variants(table, space, 1, args.samples, fitted)
    check_v = variants(table, space, 2, args.check_samples, checked)
    row = {"ops": len(table.entries), "build_s": table.metadata["build_seconds"],
           "built": start, "mean_ms": float(np.mean(checked["measured_now"])),
           "kept": table.correction.get("method"), "busy": fitted["busy"],
           "noise_pct": fitted["noise_pct"], "bias_pct": fitted["diagnosis"]["bias_pct"],
           "speed_check": checked["speed_factor"], "methods": {}}
    row["raw"] = {"fit": {"measured": fitted["measured"], "now": fitted["measured_now"]},
                  "check": {"measured": checked["measured"], "now": checked["measured_now"]}}
    for variant in ("canary", "no canary"):
      designs, y = fit_v[variant]
      check_designs, yc = check_v[variant]
      for method in K.METHODS:
        (X, groups), (Xc, groups_c) = designs[method], check_designs[method]
        if groups_c != groups:  # a group only the check nets have: price it at factor 1
          Xc = np.stack([Xc[:, groups_c.index(g)] if g in groups_c else np.zeros(len(Xc))
                         for g in groups], 1)
        loo = K.mae_pct(K.leave_one_out(method, X, y, groups), y)
        held = K.mae_pct(K.predict(K.fit(method, X, y, groups), Xc, groups), yc)
        row["methods"][f"{variant}/{method}"] = {"loo": loo, "check": held}
    if combo in results:  # an earlier build of this combo stays on record
      results.setdefault("earlier", {}).setdefault(combo, []).append(results[combo])
    results[combo] = row
    json.dump(results, open(RESULTS, "w"), indent=1)
  write_section(results, args)


def write_section(results, args):
  ident = host_identity()
  lines = ["## Latency predictor on this host (LiteRT, 1 thread): ops priced in context, drift "
           "cancelled", "",
           f"Command: `python -m benchmarks.latency_predictor --samples={args.samples} "
           f"--check_samples={args.check_samples} --rounds={args.rounds}`, later "
           "`... --recheck`  ",
           f"{time.strftime('%Y-%m-%d')}, {host_line(ident)}, LiteRT "
           f"{host_metadata(1, 'float')['runtime']}. Each table built fresh (every op "
           "in 5 interleaved rounds of 30 runs, each right after the canary "
           "`Conv_1 7x7x320->1280`). Fit run: "
           f"{args.samples} random networks (seed 1), {args.rounds} rounds, every correction "
           "fitted, error leave-one-out. Check run: "
           f"{args.check_samples} other networks (seed 2), 3 rounds, predicted by the fit-run "
           "fits. With canary: entries as ratio x the build's canary, networks at the build's "
           "speed (their time / the canary just before them x the build's canary). Without: raw "
           "medians and raw ms. sum = plain sum of ops; global = offset + scale x sum; per_kind "
           "= one factor per op kind and resolution, per_kernel = per op kind, kernel and "
           "resolution (bounded least squares). MAE in %.", "",
           "| space | precision | ops | build s | mean ms | noise % | sum bias % | kept | "
           + " | ".join(K.METHODS) + " | " + " | ".join(f"{m}, no canary" for m in K.METHODS)
           + " |", "|---|---|---:|---:|---:|---:|---:|---|" + "---:|" * (2 * len(K.METHODS))]
  order = [f"{s}:{p}" for s in ("small", "proxyless") for p in ("float", "int8")]
  for combo in order:
    if combo not in results:
      continue
    r = results[combo]
    m = r["methods"]
    cells = [f"{m[f'{v}/{k}']['loo']:.2f} / {m[f'{v}/{k}']['check']:.2f}"
             for v in ("canary", "no canary") for k in K.METHODS]
    space_name, precision = combo.split(":")
    lines.append(f"| {space_name} | {precision} | {r['ops']} | {r['build_s']:.0f} | "
                 f"{r['mean_ms']:.3f} | {r['noise_pct']:.2f} | {r['bias_pct']:+.1f} | "
                 f"{r['kept']} | " + " | ".join(cells) + " |")
  lines += ["", "Cells: leave-one-out on the fit run / held out on the check run.", ""]
  rechecks = [(c, results[c]["recheck"]) for c in order if c in results and "recheck" in results[c]]
  if rechecks:
    lines += ["The same tables validated again later on new networks (seed 3, "
              f"{args.check_samples} networks, 3 rounds), with the correction each stored:", "",
              "| space | precision | minutes after build | kept | speed factor | noise % | "
              "stored correction MAE % (build speed) | sum of ops MAE % (raw ms now) |",
              "|---|---|---:|---|---:|---:|---:|---:|"]
    for combo, r in rechecks:
      space_name, precision = combo.split(":")
      lines.append(f"| {space_name} | {precision} | {r['minutes_after_build']:.0f} | {r['method']} | "
                   f"{r['speed_factor']:.3f} | {r['noise_pct']:.2f} | {r['stored_mae_pct']:.2f} | "
                   f"{r['raw_mae_pct']:.2f} |")
  publish("latency_predictor", lines)


if __name__ == "__main__":
  main()
