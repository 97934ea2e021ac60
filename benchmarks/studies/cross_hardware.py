"""The paper's "hardware prefers specialized models" table, on what this project can measure or
model: proxyless_gpu, proxyless_cpu, proxyless_mobile and MobileNetV2 (224x224x3, 1000 classes)
on this host's CPU through LiteRT (float and int8, 1 thread), on the Pixel-1 models, and through
the `--target=gpu` path at batch 8 (XLA: on a GPU when `--gpu_results` brings a GPU run of
`benchmarks.gpu_latency`, else on this CPU, labelled so).

  python -m benchmarks.studies.cross_hardware [--rounds=5 --runs=10 --xla_rounds=3 --xla_runs=5]
      [--gpu_results=DIR/results.json]

For each column: is the net specialized for that hardware the fastest of the three, and is
Proxyless-GPU faster than MobileNetV2 (the paper: 1.2x on a V100 at batch 8)? Timings are
interleaved rounds in one process (median of per-round medians). Writes the BENCHMARKS.md
section "cross_hardware" and benchmarks/studies/cross_hardware.json. Run it with nothing else on the
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.common import ROOT, host_line


RESULTS = os.path.join(ROOT, "benchmarks", "studies", "cross_hardware.json")
NETS = ("proxyless_gpu", "proxyless_cpu", "proxyless_mobile", "mobilenet_v2")
SPECIALIZED = {"gpu": "proxyless_gpu", "cpu": "proxyless_cpu", "mobile": "proxyless_mobile"}


def _interleaved(measure, items: dict, rounds: int) -> dict:
  import numpy as np
  times = {name: [] for name in items}
  for _ in range(rounds):
    for name, item in items.items():
      times[name].append(measure(item))
  return {name: float(np.median(t)) for name, t in times.items()}


def host_litert(args) -> dict:
  from proxyless_tf.arch import get_preset
  from proxyless_tf.benchmark.host import benchmark_host
  from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
  from proxyless_tf.latency.validate import arch_tflite
  out = {}
  for precision in ("float", "int8"):
    print(f"host LiteRT {precision}: converting", flush=True)
    models = {n: arch_tflite(get_preset(n), precision, max_depthwise_taps=XNNPACK_MAX_TAPS)
              for n in NETS}
    out[precision] = _interleaved(
        lambda content: benchmark_host(model_content=content, num_threads=1, warmup=3,
                                       runs=args.runs).summary["median_ms"], models, args.rounds)
    print(f"host LiteRT {precision}: {out[precision]}", flush=True)
  return out


def pixel1_models() -> dict:
  """ms by the shipped Pixel-1 models: the 3-constant estimate (any net: a formula per op) and
  TuNAS's table (only nets of its `proxyless_tunas` space)."""
  from proxyless_tf.arch import get_preset
  from proxyless_tf.latency.estimate import arch_features, fit_constants
  from proxyless_tf.latency.table import TableCostModel, load_table
  constants = fit_constants()
  tunas = TableCostModel(load_table(os.path.join(ROOT, "proxyless_tf", "tables",
                                                 "pixel1_tunas_proxyless_224.json")))
  estimate, table = {}, {}
  for n in NETS:
    estimate[n] = float(arch_features(get_preset(n)) @ constants)
    try:
      table[n] = float(tunas.predict(get_preset(n)))
    except Exception:  # noqa: BLE001  not in TuNAS's space (its first stage has 32 channels)
      table[n] = None
  return {"estimate": estimate, "tunas": table}


def xla_here(args) -> dict:
  """The --target=gpu path (XLA, batch 8, float32) on this machine: its CPU without a GPU."""
  from proxyless_tf.arch import get_preset
  from proxyless_tf.latency.xla import compile_arch, time_runner, xla_identity
  ident = xla_identity()
  runners = {n: compile_arch(get_preset(n), 8, "float32") for n in NETS}
  times = _interleaved(lambda run: time_runner(run, 2, args.xla_runs, 5.0)["median_ms"], runners,
                       args.xla_rounds)
  label = (f"{ident.get('gpu')}" if ident.get("platform") == "gpu" else
           f"NO GPU: XLA on this CPU ({ident.get('cpu')}, {ident.get('cpus')} cores)")
  return {"label": f"{label}, {ident['backend']} {ident['backend_version']}", "ms": times,
          "on_gpu": ident.get("platform") == "gpu"}


def _verdict(ms: dict, hardware: str) -> str:
  """Whether the net searched for `hardware` is the fastest of the three searched nets."""
  specialized = SPECIALIZED[hardware]
  valid = {n: v for n, v in ms.items() if v is not None and n != "mobilenet_v2"}
  if specialized not in valid or len(valid) < 2:
    return "- (fewer than two nets priced)"
  fastest = min(valid, key=valid.get)
  return f"yes ({specialized})" if fastest == specialized else f"no: {fastest}"


def write_section(results: dict, args) -> None:
  from benchmarks.common import publish
  host, pixel, gpu = results["host"], results["pixel1"], results["gpu"]
  columns = [
      ("host CPU LiteRT float, 1 thread", host["float"], "cpu"),
      ("host CPU LiteRT int8, 1 thread", host["int8"], "cpu"),
      ("Pixel 1, 3-constant estimate", pixel["estimate"], "mobile"),
      ("Pixel 1, TuNAS table", pixel["tunas"], "mobile"),
      (f"GPU path batch 8 float32: {gpu['label']}", gpu["ms"], "gpu"),
  ]
  lines = ["## Hardware prefers specialized models? (issue 24): the published nets on every "
           "target", "",
           f"Command: `{results['command']}`  ",
           f"Host: {results['host_id']}, {results['date']}. 224x224x3, 1000 classes, batch 1 "
           f"for LiteRT (median of {args.rounds} interleaved rounds of {args.runs} runs), batch 8 "
           f"for the GPU path (XLA `jit_compile` / `jax.jit`, {args.xla_rounds} rounds of "
           f"{args.xla_runs} runs).", "",
           "| net (ms) | " + " | ".join(c[0] for c in columns) + " |",
           "|---|" + "---:|" * len(columns)]
  for n in NETS:
    cells = [("n/a (not in its space)" if c[1].get(n) is None else f"{c[1][n]:.2f}")
             for c in columns]
    lines.append(f"| {n} | " + " | ".join(cells) + " |")
  lines.append("| its hardware's net fastest of the three searched nets? | "
               + " | ".join(_verdict(c[1], c[2]) for c in columns) + " |")
  ratios = []
  for c in columns:
    g, m = c[1].get("proxyless_gpu"), c[1].get("mobilenet_v2")
    ratios.append(f"{m / g:.2f}x" if g and m else "-")
  lines.append("| MobileNetV2 / Proxyless-GPU | " + " | ".join(ratios) + " |")
  lines += ["", "Paper: Proxyless-GPU 5.1 ms vs MobileNetV2 6.1 ms on a V100 at batch 8 (1.2x); "
            "Proxyless-mobile 78 ms vs MobileNetV2 75 ms on the Pixel 1; each searched net "
            "fastest on its own hardware.", ""]
  script = results.get("gpu_script")
  if script:
    lines += ["### The prepared GPU script (`benchmarks.gpu_latency`)", "",
              f"Command: `{script['command']}`, {script['seconds']:.0f} s in all; TensorFlow "
              f"imported: {script['tensorflow_imported']}.", ""] + script["table"] + [""]
  lines += results.get("notes", [])
  publish("cross_hardware", lines)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--runs", type=int, default=10)
  parser.add_argument("--xla_rounds", type=int, default=3)
  parser.add_argument("--xla_runs", type=int, default=5)
  parser.add_argument("--gpu_results", default=None,
                      help="results.json of benchmarks/gpu_latency.py run on a GPU: its float32 "
                      "timings fill the GPU column instead of this machine's XLA run")
  parser.add_argument("--parts", default="host,pixel1,gpu",
                      help="what to measure now; parts not named keep their stored results")
  parser.add_argument("--notes", default=None, help="a text file of lines to print under the "
                      "table (what the numbers say), stored with the results")
  args = parser.parse_args()
  results = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
  parts = args.parts.split(",")
  if "host" in parts or "command" not in results:  # the command that measured the host part
    results.update(command="python -m benchmarks.studies.cross_hardware " + " ".join(sys.argv[1:]),
                   date=time.strftime("%Y-%m-%d"), host_id=host_line())
  if "host" in parts:
    results["host"] = host_litert(args)
  if args.notes:
    results["notes"] = open(args.notes).read().strip().splitlines()
  if "pixel1" in parts:
    results["pixel1"] = pixel1_models()
  if "gpu" in parts:
    if args.gpu_results:
      gpu = json.load(open(args.gpu_results))
      run = next(r for r in gpu["dtypes"] if r["dtype"] == "float32")
      ident = gpu["identity"]
      where = ident.get("gpu") if gpu["on_gpu"] else f"NO GPU: XLA on this CPU ({ident.get('cpu')})"
      results["gpu"] = {"label": f"{where}, {ident.get('backend')} {ident.get('backend_version')}",
                        "ms": {n: run["nets"][n]["ms"] for n in NETS}, "on_gpu": gpu["on_gpu"]}
      markdown = os.path.join(os.path.dirname(args.gpu_results), "results.md")
      results["gpu_script"] = {"command": gpu["command"], "seconds": gpu.get("seconds"),
                               "tensorflow_imported": gpu.get("tensorflow_imported"),
                               "table": open(markdown).read().strip().splitlines()
                               if os.path.exists(markdown) else []}
    else:
      results["gpu"] = xla_here(args)
  with open(RESULTS, "w") as f:
    json.dump(results, f, indent=1)
  write_section(results, args)


if __name__ == "__main__":
  main()
