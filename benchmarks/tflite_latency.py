"""TFLite latency of the published nets at 224 on this host: float and int8, 1 and 2 threads.

  python benchmarks/tflite_latency.py [--rounds=5 --runs=30]

All (net, precision, threads) cells are measured round-robin in one process, `rounds` times, and
the table reports the median of the per-round medians, so machine noise hits every cell alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from benchmarks.report import publish  # noqa: E402
from proxyless_tf import litert  # noqa: E402
from proxyless_tf.arch import get_preset  # noqa: E402
from proxyless_tf.benchmark.host import cpu_model, time_interpreter  # noqa: E402
from proxyless_tf.export.tflite import (convert_keras, representative_from_batch,  # noqa: E402
                                        set_bn_statistics)
from proxyless_tf.model import build_model  # noqa: E402

NETS = ("mobilenet_v2", "proxyless_mobile", "proxyless_cpu", "proxyless_gpu")


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--runs", type=int, default=30)
  parser.add_argument("--nets", default=",".join(NETS))
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  batch = rng.standard_normal((16, 224, 224, 3)).astype(np.float32)
  interpreters = {}
  for net in args.nets.split(","):
    model = build_model(get_preset(net))
    set_bn_statistics(model, batch[:8])
    for precision in ("float", "int8"):
      content = convert_keras(model, precision, representative_from_batch(batch))
      for threads in (1, 2):
        interpreters[(net, precision, threads)] = litert.make_interpreter(
            model_content=content, num_threads=threads)
    print(f"converted {net}", flush=True)
  medians = {key: [] for key in interpreters}
  for r in range(args.rounds):
    for key, interp in interpreters.items():
      medians[key].append(float(np.median(time_interpreter(interp, warmup=3, runs=args.runs))))
    print(f"round {r + 1}/{args.rounds} done", flush=True)
  lines = [
      "## TFLite latency of published nets (224x224, LiteRT, XNNPACK)", "",
      f"Command: `python benchmarks/tflite_latency.py --rounds={args.rounds} --runs={args.runs}`  ",
      f"Host: {cpu_model()}, {litert.runtime_version()}, {time.strftime('%Y-%m-%d')}. "
      f"Median over {args.rounds} interleaved rounds of the per-round median of {args.runs} runs (ms).", "",
      "| net | float 1 thr | float 2 thr | int8 1 thr | int8 2 thr |",
      "|---|---:|---:|---:|---:|"]
  for net in args.nets.split(","):
    cells = [f"{np.median(medians[(net, p, t)]):.2f}" for p in ("float", "int8") for t in (1, 2)]
    lines.append(f"| {net} | " + " | ".join(cells) + " |")
  publish("tflite_latency", lines)


if __name__ == "__main__":
  main()
