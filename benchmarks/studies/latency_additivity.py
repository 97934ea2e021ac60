"""Why the sum of per-op latencies can miss a whole network's latency: two mechanisms, measured.

  python -m benchmarks.studies.latency_additivity [--samples=6 --rounds=3]

A table times each op alone: its input and weights stay in cache across the timed runs, and
every op pays one interpreter invoke. A whole network pays one invoke, and streams every op's
weights and activations through the caches. So (1) per-invoke overhead makes the sum too HIGH by
(ops - 1) x overhead, and (2) anything that shrinks the cache available to the process (another
tenant of the machine, a smaller cache share on a VM) makes the whole network slower while the
isolated ops barely notice: the sum becomes too LOW, more so for bigger networks. This measures
the invoke overhead, and whole vs sum of freshly timed ops for random architectures of `small`
and `proxyless` (float, 1 thread), quiet and with a cache/memory-streaming process on the other
core, all interleaved in one run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time


import numpy as np

from benchmarks.common import publish


def _stream_memory(stop, megabytes: int = 256):
  """A noisy neighbour: copies a buffer far larger than the caches, forever."""
  a = np.ones(megabytes * 1024 * 1024 // 8)
  b = np.empty_like(a)
  while not stop.is_set():
    np.copyto(b, a)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--samples", type=int, default=6)
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--runs", type=int, default=30)
  parser.add_argument("--evict_mb", type=int, default=2)
  args = parser.parse_args()
  scratch = np.zeros(args.evict_mb * 1024 * 1024 // 8)

  def evict():  # writes a buffer larger than L2: the next invoke starts with cold L1/L2
    np.add(scratch, 1.0, out=scratch)
  import keras
  from proxyless_tf import litert
  from proxyless_tf.benchmark.host import cpu_model, time_interpreter
  from proxyless_tf.export.tflite import convert_keras
  from proxyless_tf.latency.identity import fingerprint, host_identity
  from proxyless_tf.latency.op_models import op_tflite
  from proxyless_tf.latency.ops import arch_ops
  from proxyless_tf.latency.validate import arch_tflite, random_archs
  from proxyless_tf.space.space import get_space

  inp = keras.Input((1, 1, 1))
  trivial = litert.make_interpreter(model_content=convert_keras(
      keras.Model(inp, inp + 1.0), "float"))
  overhead_ms = float(np.median([np.median(time_interpreter(trivial, 10, 200))
                                 for _ in range(5)]))
  rows = []
  for space_name in ("small", "proxyless"):
    space = get_space(space_name)
    archs = list(random_archs(space, args.samples, seed=11))
    whole = [litert.make_interpreter(model_content=arch_tflite(a, "float", max_depthwise_taps=25))
             for a in archs]
    ops = {}
    for a in archs:
      for op in arch_ops(a):
        if op.key not in ops:
          ops[op.key] = litert.make_interpreter(model_content=op_tflite(op, "float"))
    print(f"{space_name}: {len(archs)} nets, {len(ops)} ops converted", flush=True)
    per_condition = {}
    for condition in ("quiet", "memory-streaming neighbour"):
      stop = multiprocessing.Event()
      hog = None
      if condition != "quiet":
        hog = multiprocessing.Process(target=_stream_memory, args=(stop,), daemon=True)
        hog.start()
        time.sleep(1.0)
      whole_ms = np.zeros((args.rounds, len(archs)))
      op_ms = {k: [] for k in ops}
      cold_ms = {k: [] for k in ops}
      for r in range(args.rounds):
        for i, interp in enumerate(whole):
          whole_ms[r, i] = np.median(time_interpreter(interp, 5, args.runs))
        for key, interp in ops.items():
          op_ms[key].append(float(np.median(time_interpreter(interp, 5, args.runs))))
          if condition == "quiet":
            cold_ms[key].append(float(np.median(time_interpreter(interp, 5, args.runs,
                                                                 between=evict))))
      if hog is not None:
        stop.set()
        hog.join(5)
      measured = np.median(whole_ms, axis=0)
      sums = np.array([sum(np.median(op_ms[op.key]) for op in arch_ops(a)) for a in archs])
      per_condition[condition] = (measured, sums)
      if condition == "quiet":
        per_condition["cold"] = (measured, np.array([sum(np.median(cold_ms[op.key])
                                                         for op in arch_ops(a)) for a in archs]))
    n_ops = np.array([len(arch_ops(a)) for a in archs])
    quiet_sums = per_condition["quiet"][1]
    for label, (measured, sums) in [
        ("quiet", per_condition["quiet"]),
        ("neighbour (ops and nets)", per_condition["memory-streaming neighbour"]),
        ("ops quiet, nets with neighbour", (per_condition["memory-streaming neighbour"][0],
                                            quiet_sums)),
        (f"ops timed after evicting L2 ({args.evict_mb} MB written)", per_condition["cold"])]:
      err = (sums - measured) / measured
      corrected = (sums - (n_ops - 1) * overhead_ms - measured) / measured
      rows.append((space_name, label, float(np.mean(measured)), int(np.mean(n_ops)),
                   float(np.mean(err) * 100), float(np.mean(corrected) * 100),
                   float(np.corrcoef(measured, err)[0, 1])))
      print(rows[-1], flush=True)
  ident = host_identity()
  lines = ["## Latency additivity: sum of isolated ops vs the whole network", "",
           f"Command: `python -m benchmarks.studies.latency_additivity --samples={args.samples} "
           f"--rounds={args.rounds} --runs={args.runs}`  ",
           f"{time.strftime('%Y-%m-%d')}, {cpu_model()} (fingerprint {fingerprint(ident)}), "
           "LiteRT float, 1 thread. Ops and networks re-timed in the same run (interleaved rounds, "
           f"medians); {args.samples} random architectures per space. Interpreter overhead per "
           f"invoke (a 1-element ADD model): {overhead_ms * 1000:.1f} us. Neighbour = a second "
           "process copying a 256 MB buffer in a loop on the other core (shares L3 and memory "
           "bandwidth, like another tenant of a VM).", "",
           "| space | condition | mean whole ms | ops per net | sum of ops vs whole % | "
           "sum minus (ops-1) invokes vs whole % | corr(latency, sum error) |",
           "|---|---|---:|---:|---:|---:|---:|"]
  for space_name, condition, mean_ms, n_ops, err, corrected, corr in rows:
    lines.append(f"| {space_name} | {condition} | {mean_ms:.3f} | {n_ops} | {err:+.1f} | "
                 f"{corrected:+.1f} | {corr:+.2f} |")
  publish("latency_additivity", lines)


if __name__ == "__main__":
  main()
