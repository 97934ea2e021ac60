"""What PyTorch-compatible padding costs in TFLite: the published nets at 224, both paddings.

  python -m benchmarks.padding_latency [--rounds=7 --runs=20]

`padding="symmetric"` (k // 2 zeros on both sides of strided convs, as PyTorch) is exported as an
explicit PAD op before each strided conv; `"same"` lets the conv pad itself. XNNPACK may fuse a
constant PAD into the next conv. This measures both forms of every published net as deployed
(depthwise split for XNNPACK, BN statistics from a random batch), float and int8, 1 thread, all
files interleaved (medians), and counts the PAD ops left in each file. It decides the presets'
default padding.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


from benchmarks.common import publish
from proxyless_tf.arch import get_preset
from proxyless_tf.benchmark.host import cpu_model, time_interleaved
from proxyless_tf.export.tflite import convert_for_timing
from proxyless_tf.model import build_model

NETS = ("mobilenet_v2", "proxyless_mobile", "proxyless_cpu", "proxyless_gpu")


def pad_ops(content: bytes) -> int:
  from proxyless_tf import litert
  interpreter = litert.make_interpreter(model_content=content)
  return sum(op["op_name"] in ("PAD", "PADV2") for op in interpreter._get_ops_details())


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--rounds", type=int, default=7)
  parser.add_argument("--runs", type=int, default=20)
  parser.add_argument("--nets", default=",".join(NETS))
  args = parser.parse_args()
  nets = args.nets.split(",")
  files, pads = {}, {}
  with tempfile.TemporaryDirectory() as tmp:
    for net in nets:
      for padding in ("same", "symmetric"):
        for precision in ("float", "int8"):
          config = get_preset(net).replace(padding=padding)
          content = convert_for_timing(build_model(config), precision)
          path = os.path.join(tmp, f"{net}_{padding}_{precision}.tflite")
          with open(path, "wb") as f:
            f.write(content)
          files[(net, padding, precision)] = path
          pads[(net, padding, precision)] = pad_ops(content)
    ms = time_interleaved(files, args.rounds, args.runs, num_threads=1)
  lines = ["## Padding convention: TFLite latency of `same` vs `symmetric` (PyTorch's)", "",
           f"Command: `python -m benchmarks.padding_latency --rounds={args.rounds} "
           f"--runs={args.runs}`  ",
           f"{time.strftime('%Y-%m-%d')}, {cpu_model()}, LiteRT XNNPACK, 1 thread, 224x224, "
           "as deployed (depthwise split at 25 taps), all files interleaved, median of "
           "per-round medians. PAD ops: explicit PAD ops left in the .tflite.", "",
           "| net | precision | same ms | symmetric ms | symmetric / same | PAD ops (same / "
           "symmetric) |", "|---|---|---:|---:|---:|---|"]
  for net in nets:
    for precision in ("float", "int8"):
      same, sym = ms[(net, "same", precision)], ms[(net, "symmetric", precision)]
      lines.append(f"| {net} | {precision} | {same:.2f} | {sym:.2f} | {sym / same:.3f} | "
                   f"{pads[(net, 'same', precision)]} / {pads[(net, 'symmetric', precision)]} |")
  publish("padding_latency", lines)


if __name__ == "__main__":
  main()
