"""Does the search's re-ranking pick a better net: than its own pool, and than random nets of its
cost?

  python -m benchmarks.studies.rerank_pool --run=runs/quickstart_rerank --out=runs/rerank_pool \
      [--randoms=runs/matched_flops --random_archs=runs/proof/archs --seeds=3 --order=kept,search]

The run is a search with `--rerank_candidates` (e.g. the quickstart's flags plus
`--rerank_candidates=6`); RUN/rerank.json holds its candidates and their short-training scores.
Each candidate is trained with `benchmarks.studies.matched_random`'s recipe (5 epochs of 24k
Fashion-MNIST images, batch 128, SGD Nesterov lr 0.05 cosine, label smoothing 0.1, Keras float
top-1 on all 10,000 test images, seeds 0..2), in --order (the kept net and the search's own first,
then the rest of the pool), so a stopped run still answers the first question. The random nets
of the same MACs and their trainings (same recipe and seeds) come from `--randoms` (trained by
matched_random.py, not again here).

Every finished training is recorded in OUT/state.json; a killed run continues where it was.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time


import numpy as np

from benchmarks.common import State, kendall_tau, publish
from benchmarks.studies.matched_random import train_truth, truth_data


def candidates_of(run: str) -> list[dict]:
  """The re-ranking's nets in drawing order: choices, origin, proxy scores by seed."""
  state = json.load(open(os.path.join(run, "rerank.json")))
  nets = {}
  for entry in state.values():
    net = nets.setdefault(entry["net"], {"choices": entry["choices"], "origin": entry["origin"],
                                         "proxy": {}})
    net["proxy"][entry["seed"]] = entry["accuracy"]
  return [nets[i] for i in sorted(nets)]


def permutation_p(a: list[float], b: list[float]) -> float:
  """One-sided exact permutation test: the share of splits of a + b into groups of len(a) and
  len(b) whose mean difference is at least mean(a) - mean(b)."""
  import itertools
  values = np.array(a + b)
  observed = np.mean(a) - np.mean(b)
  count = total = 0
  for group in itertools.combinations(range(len(values)), len(a)):
    mask = np.zeros(len(values), bool)
    mask[list(group)] = True
    total += 1
    count += values[mask].mean() - values[~mask].mean() >= observed - 1e-12
  return count / total


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--run", default="runs/quickstart_rerank")
  p.add_argument("--out", default="runs/rerank_pool")
  p.add_argument("--randoms", default="runs/matched_flops")
  p.add_argument("--random_archs", default="runs/proof/archs")
  p.add_argument("--anchor", default="flops")
  p.add_argument("--seeds", type=int, default=3)
  p.add_argument("--train_examples", type=int, default=24000)
  p.add_argument("--epochs", type=int, default=5)
  p.add_argument("--order", default="kept,search",
                 help="nets trained first (kept, search or indices); the rest of the pool follows")
  p.add_argument("--max_nets", type=int, default=0, help="train at most this many (0: all)")
  p.add_argument("--report_only", action="store_true", help="report the trainings done, train none")
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  st = State(args.out)

  from proxyless_tf.utils.determinism import enable_determinism
  enable_determinism()
  from proxyless_tf.arch import load_arch
  from proxyless_tf.arch.stats import totals
  from proxyless_tf.space.space import get_space

  kept_arch = load_arch(os.path.join(args.run, "arch.json"))
  config = json.load(open(os.path.join(args.run, "search_config.json")))
  space = get_space(config["space"]).with_width(config["width_mult"]).with_task(
      kept_arch.input_size, kept_arch.input_channels, kept_arch.num_classes)
  pool = candidates_of(args.run)
  for i, net in enumerate(pool):
    net["arch"] = space.derive(net["choices"], name=f"rerank_net{i}")
    net["proxy_mean"] = float(np.mean(list(net["proxy"].values())))
  kept = max(range(len(pool)), key=lambda i: pool[i]["proxy_mean"])
  if pool[kept]["arch"].blocks != kept_arch.blocks:
    sys.exit(f"error: {args.run}/arch.json is not the re-ranking's best net")
  order = []
  for item in args.order.split(","):
    order.append(kept if item == "kept" else 0 if item == "search" else int(item))
  order = list(dict.fromkeys(order + list(range(len(pool)))))
  if args.max_nets:
    order = order[:args.max_nets]

  if args.report_only:
    return report(args, st, pool, kept, totals, load_arch)
  train_data = truth_data(args.train_examples)
  for i in order:
    for seed in range(args.seeds):
      train_truth(st, f"net{i}/{seed}", pool[i]["arch"], train_data,
                  os.path.join(args.out, f"net{i}_s{seed}"), args.epochs, seed)
    report(args, st, pool, kept, totals, load_arch)


def report(args, st, pool, kept, totals, load_arch):
  truth = {}
  for i in range(len(pool)):
    accs = [st.get(f"net{i}/{s}") for s in range(args.seeds)]
    if all(accs):
      truth[i] = [a["accuracy"] for a in accs]
  randoms = {}
  rst = State(args.randoms)
  for path in sorted(glob.glob(os.path.join(args.random_archs, f"random_{args.anchor}_*.json"))):
    name = os.path.basename(path)[:-5]
    accs = [rst.get(f"{name}/{s}") for s in range(args.seeds)]
    if all(accs):
      randoms[name] = (load_arch(path), [a["accuracy"] for a in accs])
  seeds = list(range(args.seeds))
  lines = ["## Re-ranking: does a short training pick a better net of the same cost? (issue 9)", "",
           f"Command: `python -m benchmarks.studies.rerank_pool --run={args.run} --out={args.out} "
           f"--randoms={args.randoms} --random_archs={args.random_archs} --seeds={args.seeds} "
           f"--order={args.order}" + (f" --max_nets={args.max_nets}" if args.max_nets else "")
           + "`  ",
           f"{time.strftime('%Y-%m-%d')}, CPU (2 cores). Pool: the search's own net and the nets "
           f"drawn within 3% of the requested cost by the re-ranking of `{args.run}` ("
           "`python -m proxyless_tf.search --flagfile=flags/quickstart.flags --out=RUN "
           "--rerank_candidates=6`: 1 epoch of 24k training images, 2 "
           "seeds, scored on 5000 other training images). Truths: "
           f"{args.epochs} epochs of {args.train_examples} Fashion-MNIST images, batch 128, SGD "
           "Nesterov lr 0.05 cosine, label smoothing 0.1, Keras float top-1 on all 10,000 test "
           f"images, seeds {', '.join(map(str, seeds))} (matched_random.py's recipe). The random "
           f"nets of the same MACs and their truths are those of `{args.randoms}` (same recipe "
           "and seeds, trained there).", "",
           "| net | from | params | MMACs | blocks skipped | proxy (short training, mean) | "
           + " | ".join(f"truth seed {s}" for s in seeds) + " | truth mean |",
           "|---|---|---:|---:|---:|---:|" + "---:|" * (len(seeds) + 1)]

  def row(name, origin, arch, proxy, accs):
    t = totals(arch)
    skipped = sum(b.type == "zero" for b in arch.blocks)
    cells = [f"{a:.4f}" for a in accs] if accs else ["-"] * len(seeds)
    mean = f"{np.mean(accs):.4f}" if accs else "-"
    return (f"| {name} | {origin} | {t['trainable_params']:,} | {t['macs'] / 1e6:.2f} | {skipped} "
            f"| {proxy} | " + " | ".join(cells) + f" | {mean} |")
  for i, net in enumerate(pool):
    origin = "search's own net" if i == 0 else "drawn"
    origin += ", **kept**" if i == kept else ""
    lines.append(row(f"net{i}", origin, net["arch"], f"{net['proxy_mean']:.4f}", truth.get(i)))
  for name, (arch, accs) in randoms.items():
    lines.append(row(name, "random (matched MACs)", arch, "-", accs))
  lines.append("")
  for i, label in ((0, "the search's own net (the quickstart's net: its flags do not re-rank)"),
                   (kept, "the re-ranking's kept net")):
    if i not in truth or not randoms or (i == kept and kept == 0):
      continue
    median = [float(np.median([accs[s] for _, accs in randoms.values()])) for s in seeds]
    diffs = [truth[i][s] - median[s] for s in seeds]
    se = float(np.std(diffs, ddof=1) / np.sqrt(len(diffs)))
    mean = float(np.mean(truth[i]))
    median_mean = float(np.median([np.mean(a) for _, a in randoms.values()]))
    lines.append(f"- **{'HELD' if mean > median_mean else 'NOT HELD'}**: {label} (net{i}, "
                 f"{mean:.4f}) beats the median random net of its cost ({median_mean:.4f}); paired "
                 "by seed, minus the median random: " + ", ".join(f"{100 * d:+.2f}" for d in diffs)
                 + f" points (mean {100 * np.mean(diffs):+.2f}, standard error {100 * se:.2f}).")
  if kept in truth and 0 in truth and kept != 0:
    gain = 100 * (np.mean(truth[kept]) - np.mean(truth[0]))
    lines.append(f"- The kept net vs the search's own net (what the re-ranking changed): "
                 f"{gain:+.2f} points of test accuracy (the proxy said "
                 f"{100 * (pool[kept]['proxy_mean'] - pool[0]['proxy_mean']):+.2f}).")
  if len(truth) >= 2 and randoms:
    drawn = [float(np.mean(a)) for a in truth.values()]
    uniform = [float(np.mean(a)) for _, a in randoms.values()]
    p_value = permutation_p(drawn, uniform)
    lines.append(f"- Nets of the requested cost drawn from the search's learned distribution vs "
                 f"random nets of the same MACs (uniform over the space): median "
                 f"{np.median(drawn):.4f} vs {np.median(uniform):.4f}, mean {np.mean(drawn):.4f} vs "
                 f"{np.mean(uniform):.4f} ({len(drawn)} vs {len(uniform)} nets); one-sided exact "
                 f"permutation test of the means: p = {p_value:.3f} (the chance that a random "
                 "split of these nets into two groups separates them at least as far).")
  if len(truth) >= 3:
    names = sorted(truth)
    tau = kendall_tau([pool[i]["proxy_mean"] for i in names], [np.mean(truth[i]) for i in names])
    rank = 1 + sum(np.mean(truth[i]) > np.mean(truth[kept]) for i in names)
    lines.append(f"- Within the pool ({len(names)} nets with truths): the proxy's Kendall tau with "
                 f"the truths is {tau:+.2f}; the kept net ranks {rank} of {len(names)}.")
  publish("rerank_pool", lines)


if __name__ == "__main__":
  main()
