"""Does a searched net beat random nets of its cost once training is long enough to tell?

  python -m benchmarks.studies.matched_random --archs=runs/proof/archs --anchor=flops \
      --out=runs/matched_flops [--seeds=3 --train_examples=24000 --epochs=5]

`benchmarks.studies.search_proof` retrains every net for 3 epochs of 6000 images: there two seeds of
one net differ by ~1.9 accuracy points, more than the nets differ from each other, so "the
searched net beats the median random net of its cost" could not be decided. This benchmark takes
the searched net and the random nets of one anchor from that run (`searched_<anchor>.json`,
`random_<anchor>_<i>.json`) and retrains only those, longer, with more seeds, on the whole test
set. The comparison is paired by seed (one seed = one data order and one initialisation stream for
every net), which removes the seed's common offset.

Every finished training is recorded in OUT/state.json; a killed run continues where it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import sys
import time


import numpy as np

from benchmarks.common import State, log, publish


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--archs", default="runs/proof/archs")
  p.add_argument("--anchor", default="flops")
  p.add_argument("--out", default="runs/matched_flops")
  p.add_argument("--seeds", type=int, default=3)
  p.add_argument("--train_examples", type=int, default=24000)
  p.add_argument("--epochs", type=int, default=5)
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  st = State(args.out)

  from proxyless_tf.utils.determinism import enable_determinism
  enable_determinism()  # reruns reproduce the trainings (and reuse state.json honestly)
  from proxyless_tf.arch import load_arch
  from proxyless_tf.arch.stats import totals

  searched = f"searched_{args.anchor}"
  paths = {searched: os.path.join(args.archs, f"{searched}.json")}
  for path in sorted(glob.glob(os.path.join(args.archs, f"random_{args.anchor}_*.json"))):
    paths[os.path.basename(path)[:-5]] = path
  if not os.path.exists(paths[searched]) or len(paths) < 3:
    sys.exit(f"error: {args.archs} needs {searched}.json and random_{args.anchor}_*.json "
             "(run python -m benchmarks.studies.search_proof first)")
  nets = {name: load_arch(path) for name, path in paths.items()}

  train_data = truth_data(args.train_examples)
  for seed in range(args.seeds):
    for name, config in nets.items():
      train_truth(st, f"{name}/{seed}", config, train_data,
                  os.path.join(args.out, f"{name}_s{seed}"), args.epochs, seed)
    report(args, st, nets, totals)


def truth_data(train_examples: int):
  """Fashion-MNIST with the first `train_examples` of a fixed permutation as its training split."""
  from proxyless_tf.data import load_dataset
  data = load_dataset("fashion_mnist_local")
  order = np.random.default_rng(0).permutation(len(data.train))[:train_examples]
  return dataclasses.replace(data, train=data.train.take(order))


def train_truth(st, key: str, config, data, out: str, epochs: int, seed: int) -> None:
  """One training of the truths' recipe (batch 128, SGD Nesterov lr 0.05 cosine, label smoothing
  0.1, all test images), recorded in `st` under `key` unless already there."""
  import keras
  from proxyless_tf.train import train
  if st.get(key) is not None:
    return
  start = time.monotonic()
  _, history = train(config, data, out, epochs, 128, 0.05, 0.9, 4e-5, 0.1, seed=seed, verbose=0)
  st.put(key, {"accuracy": float(history["val_accuracy"][-1]),
               "seconds": time.monotonic() - start})
  log(f"{key}: {history['val_accuracy'][-1]:.4f} ({time.monotonic() - start:.0f} s)")
  keras.backend.clear_session()


def paired(acc: dict[str, list[float]], searched: str):
  """Per seed: the searched net minus the median of the random nets, and its rank (1 = best)."""
  randoms = [n for n in acc if n != searched]
  seeds = min(len(v) for v in acc.values())
  diffs, ranks = [], []
  for s in range(seeds):
    others = [acc[n][s] for n in randoms]
    diffs.append(acc[searched][s] - float(np.median(others)))
    ranks.append(1 + sum(o > acc[searched][s] for o in others))
  return diffs, ranks


def report(args, st, nets, totals):
  acc = {n: [st.get(f"{n}/{s}")["accuracy"] for s in range(args.seeds) if st.get(f"{n}/{s}")]
         for n in nets}
  seeds = min(len(v) for v in acc.values())
  if seeds == 0:
    return
  searched = f"searched_{args.anchor}"
  diffs, ranks = paired(acc, searched)
  # seed noise of one net: the spread of its accuracy over seeds after removing each seed's
  # common offset (the mean over all nets of that seed)
  table = np.array([acc[n][:seeds] for n in nets])
  resid = table - table.mean(axis=0, keepdims=True)
  resid = resid - resid.mean(axis=1, keepdims=True)
  sigma = float(np.sqrt((resid ** 2).sum() / ((len(nets) - 1) * (seeds - 1)))) \
      if seeds > 1 else float("nan")
  mean_diff = float(np.mean(diffs))
  se = float(np.std(diffs, ddof=1) / np.sqrt(seeds)) if seeds > 1 else float("nan")
  means = {n: float(np.mean(acc[n][:seeds])) for n in nets}
  median_mean = float(np.median([means[n] for n in nets if n != searched]))
  held = means[searched] > median_mean
  lines = [f"## Searched vs random nets of its cost, trained longer (issue 9: `{args.anchor}`)", "",
           f"Command: `python -m benchmarks.studies.matched_random --archs={args.archs} "
           f"--anchor={args.anchor} --out={args.out} --seeds={args.seeds} "
           f"--train_examples={args.train_examples} --epochs={args.epochs}`  ",
           f"{time.strftime('%Y-%m-%d')}, CPU (2 cores). The nets of `{args.archs}` (from "
           "`benchmarks.studies.search_proof`), each trained from scratch: "
           f"{args.epochs} epochs of {args.train_examples} Fashion-MNIST images, batch 128, SGD "
           "Nesterov lr 0.05 cosine, label smoothing 0.1; Keras float top-1 on all 10,000 test "
           f"images; {seeds} seed(s) done of {args.seeds}.", "",
           "| net | params | MMACs | " + " | ".join(f"seed {s}" for s in range(seeds))
           + " | mean |", "|---|---:|---:|" + "---:|" * (seeds + 1)]
  for name, config in nets.items():
    t = totals(config)
    lines.append(f"| {name} | {t['trainable_params']:,} | {t['macs'] / 1e6:.2f} | "
                 + " | ".join(f"{a:.4f}" for a in acc[name][:seeds]) + f" | {means[name]:.4f} |")
  lines += ["", "Paired by seed, searched minus the median random net: "
            + ", ".join(f"{100 * d:+.2f}" for d in diffs) + " points (mean "
            f"{100 * mean_diff:+.2f}" + (f", standard error {100 * se:.2f}" if seeds > 1 else "")
            + f"); the searched net's rank among {len(nets)}: {ranks}."
            + (f" One net's seed noise after removing each seed's common offset: "
               f"{100 * sigma:.2f} points." if seeds > 1 else ""), "",
            f"- **{'HELD' if held else 'NOT HELD'}**: the searched net ({means[searched]:.4f}) "
            f"beats the median random net of its cost ({median_mean:.4f})"
            + (f"; the paired difference is {abs(mean_diff) / se:.1f} standard errors from zero"
               if seeds > 1 and se > 0 else "") + "."]
  publish(f"matched_random_{args.anchor}", lines)
  with open(os.path.join(args.out, "report.json"), "w") as f:
    json.dump({"acc": acc, "diffs": diffs, "ranks": ranks, "held": held}, f, indent=1)


if __name__ == "__main__":
  main()
