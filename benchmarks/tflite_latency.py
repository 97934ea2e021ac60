"""TFLite latency of the published nets at 224 on this host, as exported before and after the
XNNPACK depthwise rewrite: float and int8, 1 and 2 threads, and XNNPACK off (builtin kernels).

  python -m benchmarks.tflite_latency [--rounds=5 --runs=30]

All cells are measured round-robin in one process, `rounds` times, and the table reports the
median of the per-round medians, so machine noise hits every cell alike. It also reports the int8
top-1 agreement of the split export with the unsplit one (the pieces are quantized separately).
"""

from __future__ import annotations

import argparse
import time


import numpy as np

from benchmarks.common import publish
from proxyless_tf import litert
from proxyless_tf.arch import get_preset
from proxyless_tf.benchmark.host import cpu_model, time_interpreter
from proxyless_tf.export.depthwise_split import split_large_depthwise
from proxyless_tf.export.tflite import (convert_keras, representative_from_batch,
                                        set_bn_statistics)
from proxyless_tf.latency.identity import fingerprint, host_identity
from proxyless_tf.model import build_model

NETS = ("mobilenet_v2", "proxyless_mobile", "proxyless_cpu", "proxyless_gpu")
FORMS = ("whole", "split")  # as exported before / after the rewrite


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--runs", type=int, default=30)
  parser.add_argument("--builtin_runs", type=int, default=10)
  parser.add_argument("--nets", default=",".join(NETS))
  args = parser.parse_args()
  nets = args.nets.split(",")
  rng = np.random.default_rng(0)
  batch = rng.standard_normal((16, 224, 224, 3)).astype(np.float32)
  check = rng.standard_normal((32, 224, 224, 3)).astype(np.float32)
  cells, contents, agreement = {}, {}, {}
  for net in nets:
    model = build_model(get_preset(net))
    set_bn_statistics(model, batch[:8])
    forms = {"whole": model, "split": split_large_depthwise(model)}
    for form, m in forms.items():
      if form == "split" and m is model:
        continue  # nothing to split (no kernel over 25 taps): same file
      for precision in ("float", "int8"):
        contents[(net, form, precision)] = convert_keras(m, precision,
                                                         representative_from_batch(batch))
        for threads in (1, 2):
          cells[(net, form, precision, threads, True)] = litert.make_interpreter(
              model_content=contents[(net, form, precision)], num_threads=threads)
        cells[(net, form, precision, 1, False)] = litert.make_interpreter(
            model_content=contents[(net, form, precision)], num_threads=1, xnnpack=False)
    if (net, "split", "int8") in contents:
      top1 = {form: np.argmax(litert.run(litert.make_interpreter(
          model_content=contents[(net, form, "int8")]), check), -1) for form in FORMS}
      reference = np.argmax(model.predict(check, verbose=0), -1)
      agreement[net] = (float(np.mean(top1["split"] == top1["whole"])),
                        float(np.mean(top1["whole"] == reference)),
                        float(np.mean(top1["split"] == reference)))
    print(f"converted {net}", flush=True)
  medians = {key: [] for key in cells}
  for r in range(args.rounds):
    for key, interp in cells.items():
      runs = args.runs if key[4] else args.builtin_runs
      medians[key].append(float(np.median(time_interpreter(interp, warmup=2, runs=runs))))
    print(f"round {r + 1}/{args.rounds} done", flush=True)

  def ms(net, form, precision, threads, xnnpack=True):
    key = (net, form, precision, threads, xnnpack)
    if key not in medians:
      key = (net, "whole", precision, threads, xnnpack)
    return float(np.median(medians[key]))

  ident = host_identity()
  lines = [
      "## TFLite latency of published nets (224x224, LiteRT): the XNNPACK depthwise rewrite", "",
      f"Command: `python -m benchmarks.tflite_latency --rounds={args.rounds} --runs={args.runs}`  ",
      f"Host: {cpu_model()} (family {ident.get('family')} model {ident.get('model')} stepping "
      f"{ident.get('stepping')}, fingerprint {fingerprint(ident)}), {litert.runtime_version()}, "
      f"{time.strftime('%Y-%m-%d')}. Median over {args.rounds} interleaved rounds of the per-round "
      f"median of {args.runs} runs (ms; XNNPACK-off cells {args.builtin_runs} runs). whole = "
      "exported as before (7x7 depthwise as one op); split = depthwise convs over 25 taps as "
      "3x7 + 3x7 + 1x7 row pieces (the default export now). Nets without k7 blocks export the "
      "same file both ways.", "",
      "| net | float 1 thr whole | float 1 thr split | float 2 thr whole | float 2 thr split | "
      "int8 1 thr whole | int8 1 thr split | int8 2 thr whole | int8 2 thr split |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
  for net in nets:
    cells_ = [f"{ms(net, f, p, t):.2f}" for p in ("float", "int8") for t in (1, 2) for f in FORMS]
    lines.append(f"| {net} | " + " | ".join(cells_) + " |")
  mnv2 = {p: ms("mobilenet_v2", "whole", p, 1) for p in ("float", "int8")} \
      if "mobilenet_v2" in nets else None
  lines += ["", "Goals (1 thread, split export): proxyless_mobile float <= 1.1x MobileNetV2 float; "
            "proxyless_mobile and proxyless_gpu int8 <= 0.6x their float.", "",
            "| net | float vs MobileNetV2 float (whole -> split) | int8 / float (whole -> split) |",
            "|---|---:|---:|"]
  for net in nets:
    vs = (f"{ms(net, 'whole', 'float', 1) / mnv2['float']:.2f}x -> "
          f"{ms(net, 'split', 'float', 1) / mnv2['float']:.2f}x") if mnv2 else "-"
    ratio = " -> ".join(f"{ms(net, f, 'int8', 1) / ms(net, f, 'float', 1):.2f}" for f in FORMS)
    lines.append(f"| {net} | {vs} | {ratio} |")
  lines += ["", "XNNPACK off (TFLite's builtin kernels, 1 thread): does the rewrite help there?", "",
            "| net | float whole | float split | int8 whole | int8 split |", "|---|---:|---:|---:|---:|"]
  for net in nets:
    lines.append(f"| {net} | " + " | ".join(f"{ms(net, f, p, 1, False):.2f}"
                                              for p in ("float", "int8") for f in FORMS) + " |")
  if agreement:
    lines += ["", "int8 top-1 agreement on 32 random inputs (untrained nets, BN statistics from a "
              "batch): split vs whole int8, whole int8 vs Keras, split int8 vs Keras.", "",
              "| net | split vs whole | whole vs Keras | split vs Keras |", "|---|---:|---:|---:|"]
    for net, (a, b, c) in agreement.items():
      lines.append(f"| {net} | {a:.1%} | {b:.1%} | {c:.1%} |")
  publish("tflite_latency", lines)


if __name__ == "__main__":
  main()
