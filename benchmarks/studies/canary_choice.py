"""Which canary tracks what ops and whole networks feel when the machine's speed moves?

  python -m benchmarks.studies.canary_choice [--rounds=18 --runs=30]

Rounds cycle through three states of the machine: quiet, a memory-streaming neighbour (a second
process copying 256 MB, sharing L3 and memory bandwidth like another tenant), and a compute
neighbour (a busy loop on the other core: on a VM its vCPU may share a physical core with ours).
Every round times each candidate canary, a spread of ops of `small` and `proxyless`, and random
whole networks of both. For each target, the spread of its round medians (median absolute
deviation, relative) is reported raw and divided by each canary's time of the same round: a
canary that tracks the machine leaves the least spread.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time


import numpy as np

from benchmarks.studies.latency_additivity import _stream_memory
from benchmarks.common import publish


def _spin(stop):
  x = 0
  while not stop.is_set():
    for _ in range(10000):
      x += 1


NEIGHBOURS = {"quiet": None, "memory neighbour": _stream_memory, "compute neighbour": _spin}


def spread(values) -> float:
  values = np.asarray(values, float)
  return float(np.median(np.abs(values - np.median(values))) / np.median(values) * 100)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--rounds", type=int, default=18)
  parser.add_argument("--runs", type=int, default=30)
  parser.add_argument("--precision", default="float")
  args = parser.parse_args()
  from proxyless_tf import litert
  from proxyless_tf.benchmark.host import cpu_model, time_interpreter
  from proxyless_tf.latency.canary import CANDIDATES
  from proxyless_tf.latency.identity import fingerprint, host_identity
  from proxyless_tf.latency.op_models import op_tflite
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.latency.validate import arch_tflite, random_archs
  from proxyless_tf.space.space import get_space

  def interp(content):
    return litert.make_interpreter(model_content=content)
  canaries = {name: interp(op_tflite(op, args.precision)) for name, op in CANDIDATES.items()}
  targets = {}
  for space_name, n_ops in (("small", 6), ("proxyless", 8)):
    space = get_space(space_name)
    ops = all_space_ops(space)
    for op in [ops[i] for i in np.linspace(0, len(ops) - 1, n_ops).astype(int)]:
      targets[f"op {space_name} {op.kind}@{op.resolution}"] = (
          "op", interp(op_tflite(op, args.precision)))
    for arch in random_archs(space, 3, seed=5):
      targets[f"net {space_name} {arch.name}"] = (
          "net", interp(arch_tflite(arch, args.precision, max_depthwise_taps=25)))
  print(f"{len(canaries)} canaries, {len(targets)} targets converted", flush=True)
  states = list(NEIGHBOURS)
  canary_ms = {k: [] for k in canaries}
  target_ms = {k: [] for k in targets}
  paired = {(c, t): [] for c in canaries for t in targets}
  state_of_round = []
  for r in range(args.rounds):
    state = states[r % len(states)]
    state_of_round.append(state)
    stop, hog = multiprocessing.Event(), None
    if NEIGHBOURS[state] is not None:
      hog = multiprocessing.Process(target=NEIGHBOURS[state], args=(stop,), daemon=True)
      hog.start()
      time.sleep(0.5)
    this_round = {k: float(np.median(time_interpreter(i, 5, args.runs)))
                  for k, i in canaries.items()}
    for k, v in this_round.items():
      canary_ms[k].append(v)
    for t, (_, i) in targets.items():
      # each target right after a fresh timing of each canary, as the table build pairs them
      for c, ci in canaries.items():
        paired[(c, t)].append(float(np.median(time_interpreter(ci, 3, max(5, args.runs // 3)))))
      target_ms[t].append(float(np.median(time_interpreter(i, 5, args.runs))))
    if hog is not None:
      stop.set()
      hog.join(5)
    print(f"round {r + 1}/{args.rounds} ({state})", flush=True)
  rows = []
  for kind in ("op", "net"):
    names = [t for t in targets if targets[t][0] == kind]
    raw = np.median([spread(target_ms[t]) for t in names])
    row = [kind, len(names), raw]
    for c in canaries:
      row.append(np.median([spread(np.array(target_ms[t]) / np.array(paired[(c, t)]))
                            for t in names]))
    rows.append(row)
  by_state = {s: [i for i, x in enumerate(state_of_round) if x == s] for s in states}
  state_lines = []
  for c in canaries:
    med = {s: np.median([canary_ms[c][i] for i in idx]) for s, idx in by_state.items()}
    state_lines.append((c, med))
  nets = [t for t in targets if targets[t][0] == "net"]
  net_shift = {s: np.median([np.median([target_ms[t][i] for i in idx]) /
                             np.median([target_ms[t][i] for i in by_state["quiet"]])
                             for t in nets]) for s, idx in by_state.items()}
  ident = host_identity()
  lines = ["## Choosing the canary: which reference op tracks what ops and networks feel", "",
           f"Command: `python -m benchmarks.studies.canary_choice --rounds={args.rounds} "
           f"--runs={args.runs} --precision={args.precision}`  ",
           f"{time.strftime('%Y-%m-%d')}, {cpu_model()} (family {ident.get('family')} model "
           f"{ident.get('model')}, fingerprint {fingerprint(ident)}), LiteRT {args.precision}, 1 "
           f"thread. {args.rounds} rounds cycling quiet / memory-streaming neighbour (256 MB copy "
           "loop) / compute neighbour (busy loop), each target timed right after each canary. "
           "Spread = median over targets of the relative median absolute deviation of their "
           "round medians; lower after dividing by a canary = it tracks the drift.", "",
           "| targets | n | raw spread % | " + " | ".join(f"/ {c} %" for c in canaries) + " |",
           "|---|---:|---:|" + "---:|" * len(canaries)]
  for row in rows:
    lines.append(f"| {row[0]}s | {row[1]} | {row[2]:.2f} | " +
                 " | ".join(f"{v:.2f}" for v in row[3:]) + " |")
  lines += ["", "Median time per state, relative to quiet (whole networks; each canary):", "",
            "| | " + " | ".join(states) + " |", "|---|" + "---:|" * len(states),
            "| whole networks | " + " | ".join(f"{net_shift[s]:.3f}" for s in states) + " |"]
  for c, med in state_lines:
    lines.append(f"| {c} ({med['quiet']:.3f} ms quiet) | " +
                 " | ".join(f"{med[s] / med['quiet']:.3f}" for s in states) + " |")
  publish(f"canary_choice_{args.precision}", lines)


if __name__ == "__main__":
  main()
