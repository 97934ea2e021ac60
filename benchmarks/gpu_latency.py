"""`--target=gpu` on a GPU: the `proxyless` space's XLA latency table at batch 8, checked on
random whole networks, and the published nets timed; made to run on a GPU machine that has JAX
but neither TensorFlow nor a network.

  python -m benchmarks.gpu_latency --out=DIR [--wheels=DIR] [--dtypes=float32,float16]
      [--batch_size=8] [--rounds=5] [--runs=30] [--samples=10] [--budget_s=420]

1. Keras (and what it needs beyond JAX) is installed from `--wheels` (default .whl/, filled by
   `bash benchmarks/gpu_wheels.sh` where there is a network) with `pip --no-index` when it is
   missing: nothing is downloaded.
2. Per type: every op of `proxyless` (224x224x3, 1000 classes) compiled with `jax.jit` and timed
   at `--batch_size` in `--rounds` interleaved rounds after the canary (`latency/xla.py`, the
   table builder of `--target=gpu`), then `--samples` random networks of the space timed whole
   (the table's self-check: held-out error of the kept correction, noise, drift, bias).
3. proxyless_gpu / _cpu / _mobile and MobileNetV2 timed whole, interleaved, each after the
   canary, next to what each table predicts for them.

Everything lands in `--out`: `results.json` (read by `benchmarks/studies/cross_hardware.py
--gpu_results`), `results.md`, the tables and `log.txt`. Without a GPU the same path runs on the
CPU and every figure is labelled so. `--budget_s` stops before a type that would not finish.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import subprocess
import sys
import time

from benchmarks.common import ROOT
os.environ.setdefault("KERAS_BACKEND", "jax")

NETS = ("proxyless_gpu", "proxyless_cpu", "proxyless_mobile", "mobilenet_v2")
PAPER_GPU_MS = {"proxyless_gpu": 5.1, "mobilenet_v2": 6.1}  # V100, batch 8 (the original README)
SITE = "/tmp/proxyless_site"  # where carried wheels are unpacked (the environment may be read-only)


def install_from_wheels(wheels: str | None, log) -> None:
  """Keras from carried wheels where it is missing (a GPU machine with JAX only): unpacked with
  `pip --no-index --no-deps` into SITE, put first on sys.path. `benchmarks/gpu_wheels.sh`
  downloads them (keras, namex, optree, typing_extensions; the rest Keras needs, h5py, rich,
  absl-py and ml_dtypes, the GPU machine has)."""
  if importlib.util.find_spec("keras") is not None:
    return
  found = sorted(glob.glob(os.path.join(wheels or "", "*.whl")))
  if not found:
    raise SystemExit(f"error: Keras is not installed and --wheels={wheels} holds no wheels; run "
                     "`bash benchmarks/gpu_wheels.sh` where pip has a network, and carry .whl/")
  log(f"installing {', '.join(os.path.basename(w) for w in found)} into {SITE} (no index)")
  subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                  "--no-compile", "--upgrade", "--target", SITE, *found], check=True)
  sys.path.insert(0, SITE)
  importlib.invalidate_caches()


def _time_nets(nets: dict, canary, rounds: int, runs: int) -> dict:
  """Each net's ms (median of round medians) and ratio to the canary timed just before it."""
  import numpy as np
  from proxyless_tf.latency.canary import time_rounds
  from proxyless_tf.latency.xla import time_runner
  names = list(nets)
  per_round, canaries = time_rounds(lambda run: time_runner(run, 5, runs, 2.0)["median_ms"],
                                    [nets[n] for n in names], canary, rounds)
  ratio = np.median(per_round / canaries, axis=0)
  return {n: {"ms": float(np.median(per_round[:, i])), "canary_ratio": float(ratio[i]),
              "round_spread_pct": float(100 * (per_round[:, i].max() - per_round[:, i].min())
                                        / np.median(per_round[:, i]))}
          for i, n in enumerate(names)}


def run_dtype(dtype: str, args, log) -> dict:
  from proxyless_tf.arch import get_preset
  from proxyless_tf.latency.builder import build_space_table
  from proxyless_tf.latency.canary import canary_op, table_canary_ms
  from proxyless_tf.latency.table import TableCostModel
  from proxyless_tf.latency.xla import XlaMeasurer, compile_arch, compile_op, xla_metadata
  from proxyless_tf.space.space import get_space
  space = get_space("proxyless")
  path = os.path.join(args.out, "tables", f"xla_proxyless_b{args.batch_size}_{dtype}.json")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  start = time.monotonic()
  table = build_space_table(space, path, [XlaMeasurer(args.batch_size, dtype, args.warmup,
                                                      args.runs)], dtype,
                            xla_metadata(args.batch_size, dtype), log=log, rounds=args.rounds,
                            self_check_samples=args.samples)
  build_s = time.monotonic() - start
  model = TableCostModel(table)
  start = time.monotonic()
  nets = {n: compile_arch(get_preset(n), args.batch_size, dtype) for n in NETS}
  timed = _time_nets(nets, compile_op(canary_op(), args.batch_size, dtype), args.rounds, args.runs)
  then = table_canary_ms(table)
  for name, r in timed.items():
    r["ms_at_build"] = r["canary_ratio"] * then if then else None
    try:
      r["predicted_ms"] = float(model.predict(get_preset(name)))
    except Exception:  # noqa: BLE001  MobileNetV2's widths are not in the proxyless space
      r["predicted_ms"] = None
  check = table.metadata.get("self_check", {})
  return {"dtype": dtype, "table": os.path.relpath(path, args.out), "ops": len(table.entries),
          "build_s": round(build_s, 1), "nets_s": round(time.monotonic() - start, 1),
          "self_check": check, "correction": (table.metadata.get("correction") or {}).get("method"),
          "canary_ms": then, "nets": timed}


def write_markdown(results: dict, path: str) -> None:
  ident = results["identity"]
  where = (f"GPU {ident.get('gpu')} ({ident.get('memory_mb', '?')} MB, driver "
           f"{ident.get('driver', '?')}, CUDA {ident.get('cuda', '?')}, cuDNN "
           f"{ident.get('cudnn', '?')})" if results["on_gpu"] else
           f"NO GPU: the XLA path on the CPU ({ident.get('cpu')}), not a GPU's milliseconds")
  lines = [f"{where}; {ident.get('backend')} {ident.get('backend_version')}, Keras "
           f"{ident.get('keras')}; batch {results['batch_size']}; {results['date']}", "",
           "| type | ops | build s | self-check: sum of ops MAE | corrected (held out) | "
           + " | ".join(f"{n} ms (predicted)" for n in NETS) + " | MobileNetV2 / Proxyless-GPU |",
           "|---|---:|---:|---:|---:|" + "---:|" * len(NETS) + "---:|"]
  for r in results["dtypes"]:
    check = r["self_check"]
    cells = []
    for n in NETS:
      net = r["nets"][n]
      pred = f" ({net['predicted_ms']:.2f})" if net.get("predicted_ms") else " (not in space)"
      cells.append(f"{net['ms']:.2f}{pred}")
    speedup = r["nets"]["mobilenet_v2"]["ms"] / r["nets"]["proxyless_gpu"]["ms"]
    lines.append(f"| {r['dtype']} | {r['ops']} | {r['build_s']:.0f} | "
                 f"{check.get('raw_mae_pct', float('nan')):.1f}% | "
                 f"{check.get('calibrated_loo_mae_pct', float('nan')):.1f}% "
                 f"({check.get('method', '?')}) | " + " | ".join(cells) + f" | {speedup:.2f}x |")
  for skipped in results.get("skipped", []):
    lines.append(f"| {skipped} | not run: the --budget_s would have been exceeded | |")
  lines += ["", "The paper (V100, batch 8): Proxyless-GPU 5.1 ms, MobileNetV2 6.1 ms (1.2x)."]
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", default=os.environ.get("OUT") or "runs/gpu_latency")
  parser.add_argument("--wheels", default=os.path.join(ROOT, ".whl"))
  parser.add_argument("--dtypes", default="float32,float16")
  parser.add_argument("--batch_size", type=int, default=8)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--warmup", type=int, default=10)
  parser.add_argument("--runs", type=int, default=30)
  parser.add_argument("--samples", type=int, default=10)
  parser.add_argument("--budget_s", type=float, default=420.0,
                      help="stop before a type once this many seconds have passed since the start "
                      "minus the first type's time (a GPU may be available for minutes only)")
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  log_file = open(os.path.join(args.out, "log.txt"), "a")
  begin = time.monotonic()

  def log(*parts):
    line = " ".join(str(p) for p in parts)
    print(line, flush=True)
    log_file.write(f"[{time.monotonic() - begin:7.1f}s] {line}\n")
    log_file.flush()

  install_from_wheels(args.wheels, log)
  from proxyless_tf.latency.xla import xla_identity
  identity = xla_identity()
  on_gpu = identity.get("platform") == "gpu"
  log(f"device: {identity}")
  if not on_gpu:
    log("NO GPU visible: timing the CPU through the same XLA path (figures labelled so)")
  results = {"identity": identity, "on_gpu": on_gpu, "batch_size": args.batch_size,
             "date": time.strftime("%Y-%m-%d %H:%M"), "command": "python " + " ".join(sys.argv),
             "tensorflow_imported": False, "dtypes": [], "skipped": []}
  first = None
  for dtype in args.dtypes.split(","):
    elapsed = time.monotonic() - begin
    if first is not None and elapsed + first > args.budget_s:
      log(f"skipping {dtype}: {elapsed:.0f}s spent, the last type took {first:.0f}s, budget "
          f"{args.budget_s:.0f}s")
      results["skipped"].append(dtype)
      continue
    start = time.monotonic()
    log(f"== {dtype}, batch {args.batch_size}")
    results["dtypes"].append(run_dtype(dtype, args, log))
    first = time.monotonic() - start
    results["tensorflow_imported"] = "tensorflow" in sys.modules
    results["seconds"] = round(time.monotonic() - begin, 1)
    with open(os.path.join(args.out, "results.json"), "w") as f:  # kept after every type
      json.dump(results, f, indent=1)
    write_markdown(results, os.path.join(args.out, "results.md"))
  log(open(os.path.join(args.out, "results.md")).read())
  log(f"done in {time.monotonic() - begin:.0f}s; TensorFlow imported: "
      f"{'tensorflow' in sys.modules}")


if __name__ == "__main__":
  main()
