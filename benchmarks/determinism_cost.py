"""What reproducible searches cost: supernet steps with determinism on (TensorFlow op determinism
and one inter-op thread, `proxyless_tf.utils.determinism`) vs off.

  python -m benchmarks.determinism_cost [--rounds=3 --steps=60]

Both settings are process-wide, so each measurement is a fresh process running the `small` space
search (Fashion-MNIST, batch 64, nested sharing: the quickstart's step) for `--steps` steps after
a 10-step warm-up that absorbs tracing; the two settings alternate, `--rounds` times, and the
report gives medians and their ratio. It also checks the point of the flag: two deterministic
runs give the same losses.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


import numpy as np

from benchmarks.common import ROOT, publish



def worker(deterministic: bool, steps: int, out: str) -> None:
  if deterministic:
    from proxyless_tf.utils.determinism import enable_determinism
    enable_determinism()
  from proxyless_tf.latency.cost_model import FlopsCostModel
  from proxyless_tf.search.runner import SearchConfig, SearchRun
  config = SearchConfig(out=out, space="small", dataset="fashion_mnist_local",
                        max_train_examples=4000, batch_size=64, warmup_epochs=1, epochs=1,
                        steps_per_epoch=steps + 10, weight_sharing="nested",
                        latency_loss="add_linear", ref_latency=9.0, checkpoint_every=10_000,
                        deterministic=deterministic)
  run = SearchRun(config, FlopsCostModel(), log=lambda *_: None)
  run.restore_or_start(False)
  from proxyless_tf.data.pipeline import batch_stream
  stream = batch_stream(run.train, 64, run.space.input_size, run.space.input_channels, seed=0,
                        per_epoch=steps + 10)
  losses = []
  for i in range(steps + 10):
    if i == 10:
      start = time.perf_counter()
    x, y = next(stream)
    losses.append(float(run.steps.weight_step(x, y, 0.05, uniform=True)[0]))
  print(json.dumps({"seconds": time.perf_counter() - start, "losses": losses}))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--steps", type=int, default=60)
  parser.add_argument("--worker", choices=("on", "off"))
  parser.add_argument("--out", default="/tmp/determinism_cost")
  args = parser.parse_args()
  if args.worker:
    return worker(args.worker == "on", args.steps, args.out)
  times = {"on": [], "off": []}
  losses = {"on": [], "off": []}
  for _ in range(args.rounds):
    for mode in ("on", "off"):
      proc = subprocess.run([sys.executable, "-m", "benchmarks.determinism_cost", f"--worker={mode}", f"--steps={args.steps}",
                             f"--out={args.out}_{mode}_{len(times[mode])}"], capture_output=True,
                            text=True, cwd=ROOT, check=True)
      result = json.loads(proc.stdout.strip().splitlines()[-1])
      times[mode].append(result["seconds"] / args.steps * 1e3)
      losses[mode].append(result["losses"])
  on, off = float(np.median(times["on"])), float(np.median(times["off"]))
  same = all(run == losses["on"][0] for run in losses["on"])
  lines = ["## Determinism: cost of reproducible searches", "",
           f"Command: `python -m benchmarks.determinism_cost --rounds={args.rounds} "
           f"--steps={args.steps}`  ",
           f"{time.strftime('%Y-%m-%d')}, CPU (2 cores, shared). `small` space, batch 64, nested "
           f"sharing, uniform path sampling; {args.steps} timed weight steps per process after 10 "
           f"untimed; the two settings alternate over {args.rounds} rounds (fresh processes).", "",
           "| determinism | ms / step (median) | rounds |", "|---|---:|---|",
           f"| on (`--deterministic`, the default: op determinism + 1 inter-op thread) | {on:.1f} | "
           f"{', '.join(f'{t:.1f}' for t in times['on'])} |",
           f"| off (`--nodeterministic`) | {off:.1f} | "
           f"{', '.join(f'{t:.1f}' for t in times['off'])} |", "",
           f"Ratio on / off: {on / off:.3f}. The {args.rounds} deterministic runs gave "
           f"{'identical' if same else 'DIFFERENT'} losses at every step."]
  publish("determinism_cost", lines)


if __name__ == "__main__":
  main()
