"""Does the search beat hand design on this CPU? The end-to-end experiment of issue 9.

  python -m benchmarks.studies.search_proof --out=runs/proof [--seeds=2 --retrain_epochs=3 ...]

Fashion-MNIST (Debian's files), `small` space at 32x32, this host's 1-thread TFLite tables
(`tables/host_small_{float,int8}_t1.json`, checked against this machine's identity).

  searched   latency-aware (requested latency, float table) at 3 values spanning the baselines;
             latency-blind; FLOPs; the int8 table; a mobile-style (estimated Pixel-1) table
  baselines  every block k3 e6 (MobileNetV2's recipe) at width 0.5 / 0.75 / 1.0
  random     5 random architectures whose predicted latency is within 5% of the middle
             latency-aware net's, and 5 within 5% of the FLOPs net's MACs (the quickstart's)

Every net is trained from scratch with one recipe, `--seeds` seeds; then exported (float, int8;
checked against Keras), and all nets are timed in one interleaved run (1 thread, medians). The
report (table, PNG, claims held / not held) goes to BENCHMARKS.md and OUT/.

Every finished job is recorded in OUT/state.json; a killed run continues where it was (searches
resume from their checkpoints, training from Keras' BackupAndRestore).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time


import numpy as np

from benchmarks.common import ROOT, State, log, publish

WIDTHS = (0.5, 0.75, 1.0)


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--out", default="runs/proof")
  p.add_argument("--seeds", type=int, default=2)
  p.add_argument("--search_examples", type=int, default=12000)
  p.add_argument("--warmup_epochs", type=int, default=2)
  p.add_argument("--search_epochs", type=int, default=3)
  p.add_argument("--steps_per_epoch", type=int, default=100)
  p.add_argument("--weight_sharing", default="nested")
  p.add_argument("--arch_lr", type=float, default=0.03)
  p.add_argument("--train_examples", type=int, default=12000)
  p.add_argument("--test_examples", type=int, default=5000)
  p.add_argument("--retrain_epochs", type=int, default=3)
  p.add_argument("--random", type=int, default=5)
  p.add_argument("--rounds", type=int, default=7)
  p.add_argument("--runs", type=int, default=40)
  p.add_argument("--only", default="", help="comma list of job groups to run (debug)")
  args = p.parse_args()
  os.makedirs(args.out, exist_ok=True)
  st = State(args.out)

  import keras
  from proxyless_tf.arch import load_arch
  from proxyless_tf.arch.io import save_arch
  from proxyless_tf.arch.stats import totals
  from proxyless_tf.data import load_dataset, normalize
  from proxyless_tf.latency.cost_model import FlopsCostModel
  from proxyless_tf.latency.targets import cost_model_for_target
  from proxyless_tf.litert import top1_accuracy
  from proxyless_tf.model import build_model
  from proxyless_tf.search.runner import SearchConfig, SearchRun
  from proxyless_tf.space.space import get_space
  from proxyless_tf.specialize import baseline_config

  data = load_dataset("fashion_mnist_local")
  space = get_space("small").with_task(32, 1, 10)

  # -- cost models ------------------------------------------------------------------------------
  mobile_table = os.path.join(args.out, "mobile_estimated_small_32.json")
  if not os.path.exists(mobile_table):
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "estimate_latency_table.py"),
                    "--space=small", "--input_size=32", "--input_channels=1", "--num_classes=10",
                    f"--out={mobile_table}"], check=True)
  costs = {
      "cpu": cost_model_for_target("cpu", os.path.join(ROOT, "tables/host_small_float_t1.json"),
                                   log=log),
      "int8": cost_model_for_target("cpu", os.path.join(ROOT, "tables/host_small_int8_t1.json"),
                                    precision="int8", log=log),
      "flops": FlopsCostModel(),
      "mobile": cost_model_for_target("mobile", mobile_table, log=log),
  }
  for model in costs.values():
    model.prepare(space)

  # -- baselines' measured latency (untrained weights: latency does not depend on them) ---------
  baselines = {f"k3e6_w{w}": baseline_config(get_space("small").with_width(w).with_task(32, 1, 10))
               for w in WIDTHS}
  baselines = {name: dataclasses.replace(config, name=name) for name, config in baselines.items()}
  if st.get("baseline_ms") is None:
    log("timing the baselines (untrained) to place the requested latencies")
    files = {}
    for name, config in baselines.items():
      files[name] = _tflite(build_model(config), os.path.join(args.out, "probe", name))
    st.put("baseline_ms", _time(files, args.rounds, args.runs))
  base_ms = st.get("baseline_ms")
  full = baselines["k3e6_w1.0"]
  lo_feasible = float(min(costs["cpu"].predict(space.derive(c)) for c in _extremes(space)))
  targets = sorted({round(max(base_ms["k3e6_w0.5"], 1.15 * lo_feasible), 4),
                    round(base_ms["k3e6_w0.75"], 4), round(0.85 * base_ms["k3e6_w1.0"], 4)})
  st.put("requested_ms", targets)
  log(f"baselines measured {base_ms}; requested latencies {targets} ms")

  # -- searches ----------------------------------------------------------------------------------
  searches = {f"cpu_T{i + 1}": ("cpu", t) for i, t in enumerate(targets)}
  searches["blind"] = (None, 0.0)
  for key in ("flops", "int8", "mobile"):
    searches[key] = (key, 0.7 * float(costs[key].predict(full)))
  searched = {}
  for name, (cost, target) in searches.items():
    done = st.get(f"search/{name}")
    if done is None:
      log(f"search {name}: cost {cost}, requested {target:.4g}")
      config = SearchConfig(
          out=os.path.join(args.out, "search", name), space="small",
          dataset="fashion_mnist_local", max_train_examples=args.search_examples, batch_size=64,
          warmup_epochs=args.warmup_epochs, epochs=args.search_epochs,
          steps_per_epoch=args.steps_per_epoch, warmup_lr=0.05, lr=0.025, arch_lr=args.arch_lr,
          arch_update_every=2, target_latency=target, weight_sharing=args.weight_sharing,
          latency_loss="none" if cost is None else "add_linear", checkpoint_every=50, seed=0)
      start = time.monotonic()
      result = SearchRun(config, None if cost is None else costs[cost], log=lambda *a: None,
                         dataset=data).run(resume=True)
      done = st.put(f"search/{name}", {"arch": result.arch_path, "seconds": time.monotonic() - start,
                                       "requested": target, "cost": cost,
                                       "epochs": args.warmup_epochs + args.search_epochs})
      log(f"search {name}: {time.monotonic() - start:.0f} s -> {result.arch_path}")
    searched[name] = dataclasses.replace(load_arch(done["arch"]), name=f"searched_{name}")

  # -- random architectures at matched cost -----------------------------------------------------
  randoms = {}
  for anchor, cost in (("cpu_T2", "cpu"), ("flops", "flops")):
    if anchor not in searched:
      continue
    want = float(costs[cost].predict(searched[anchor]))
    rng = np.random.default_rng(123 if cost == "cpu" else 321)
    picked, tries = [], 0
    while len(picked) < args.random and tries < 200000:
      tries += 1
      choices = [int(rng.integers(len(s.candidates))) for s in space.mixed_ops()]
      if abs(float(costs[cost].predict(space.derive(choices))) / want - 1) <= 0.05:
        picked.append(choices)
    for i, choices in enumerate(picked):
      config = space.derive(choices, name=f"random_{anchor}_{i}")
      randoms[config.name] = config

  nets = {**{f"searched_{k}": v for k, v in searched.items()}, **baselines, **randoms}
  for name, config in nets.items():
    path = os.path.join(args.out, "archs", f"{name}.json")
    if not os.path.exists(path):
      os.makedirs(os.path.dirname(path), exist_ok=True)
      save_arch(config, path)

  # -- retrain every net, every seed ------------------------------------------------------------
  from proxyless_tf.train import train
  rng = np.random.default_rng(0)
  train_split = data.train.take(rng.permutation(len(data.train))[:args.train_examples])
  test_split = data.test.take(np.random.default_rng(1).permutation(len(data.test))
                              [:args.test_examples])
  train_data = dataclasses.replace(data, train=train_split, test=test_split)
  x_test = normalize(test_split.images, 32, 1).numpy()
  order = (["searched_cpu_T1", "searched_cpu_T2", "searched_cpu_T3", *baselines,
            *[n for n in randoms if "cpu_T2" in n], "searched_blind", "searched_flops",
            *[n for n in randoms if "flops" in n], "searched_int8", "searched_mobile"])
  order = [n for n in order if n in nets]
  for seed in range(args.seeds):
    for name in order:
      key = f"train/{name}/{seed}"
      if st.get(key) is not None:
        continue
      out = os.path.join(args.out, "train", f"{name}_s{seed}")
      start = time.monotonic()
      model, history = train(nets[name], train_data, out, args.retrain_epochs, 128, 0.05, 0.9,
                             4e-5, 0.1, seed=seed, verbose=0)
      seconds = time.monotonic() - start
      files = _export(model, os.path.join(out, "export"), train_data, x_test)
      int8_acc = top1_accuracy(files["int8"], x_test, test_split.labels)
      st.put(key, {"accuracy": float(history["val_accuracy"][-1]), "int8_accuracy": int8_acc,
                   "seconds": seconds, "files": files})
      log(f"{name} seed {seed}: acc {history['val_accuracy'][-1]:.4f} int8 {int8_acc:.4f} "
          f"({seconds:.0f} s)")
      keras.backend.clear_session()

  # -- time every net, float and int8, interleaved ----------------------------------------------
  trained = [n for n in order if st.get(f"train/{n}/0")]
  if st.get("measured") is None or set(st.get("measured")) != {f"{n}/{m}" for n in trained
                                                               for m in ("float", "int8")}:
    log(f"timing {len(trained)} nets x float/int8, {args.rounds} interleaved rounds")
    files = {f"{n}/{m}": st.get(f"train/{n}/0")["files"][m] for n in trained
             for m in ("float", "int8")}
    st.put("measured", _time(files, args.rounds, args.runs))
  measured = st.get("measured")

  # -- rows ----------------------------------------------------------------------------------------
  rows = {}
  for name in trained:
    config = nets[name]
    seeds = [st.get(f"train/{name}/{s}") for s in range(args.seeds)]
    seeds = [s for s in seeds if s]
    stats = totals(config)
    in_space = not name.startswith("k3e6_w") or name == "k3e6_w1.0"
    rows[name] = {
        "params": stats["trainable_params"], "macs": stats["macs"],
        "pred_float": float(costs["cpu"].predict(config)) if in_space else None,
        "pred_int8": float(costs["int8"].predict(config)) if in_space else None,
        "float_ms": measured[f"{name}/float"], "int8_ms": measured[f"{name}/int8"],
        "acc": float(np.mean([s["accuracy"] for s in seeds])),
        "acc_seeds": [s["accuracy"] for s in seeds],
        "int8_acc": float(np.mean([s["int8_accuracy"] for s in seeds])),
        "retrain_s": float(np.mean([s["seconds"] for s in seeds])),
        "search_s": (st.get(f"search/{name[len('searched_'):]}") or {}).get("seconds"),
        "blocks": _describe(config), "seeds": len(seeds)}
  st.put("rows", rows)
  from benchmarks.studies.search_proof_report import write
  write(rows, st.data, args, os.path.join(ROOT, "benchmarks", "studies", "search_proof.png"), publish)


def _extremes(space):
  """The cheapest architecture: zero where allowed, else the first (smallest) candidate."""
  choices = []
  for spec in space.mixed_ops():
    names = [c.name for c in spec.candidates]
    choices.append(names.index("zero") if "zero" in names else names.index("k3_e3"))
  return [choices]


def _describe(config) -> dict:
  blocks = list(config.blocks[1:])  # after the fixed first block
  real = [b for b in blocks if not b.is_zero]
  return {"depth": len(real), "skipped": len(blocks) - len(real),
          "kernels": {k: sum(b.kernel_size == k for b in real) for k in (3, 5, 7)},
          "expand": {e: sum(b.expand_ratio == e for b in real) for e in (3, 6)},
          "string": " ".join("skip" if b.is_zero else f"k{b.kernel_size}e{b.expand_ratio}"
                             for b in blocks)}


def _tflite(model, out):
  from proxyless_tf.export.tflite import convert_for_timing
  os.makedirs(out, exist_ok=True)
  path = os.path.join(out, "model.tflite")
  if not os.path.exists(path):
    with open(path, "wb") as f:
      f.write(convert_for_timing(model, "float", max_depthwise_taps=25))
  return path


def _export(model, out, train_data, x_test):
  from proxyless_tf.data import sample_batch
  from proxyless_tf.export.pipeline import export_model
  results = export_model(model, out, ("float", "int8"), sample_batch(train_data.train, 256, 32, 1),
                         x_test[:256], max_depthwise_taps=25, log=lambda *_: None)
  bad = [r for r in results if not r.ok]
  if bad:
    log(f"WARNING export check failed: {[(r.mode, r.problem) for r in bad]}")
  return {r.mode: r.path for r in results}


def _time(files, rounds, runs):
  from proxyless_tf.benchmark.host import time_interleaved
  return time_interleaved(files, rounds, runs, num_threads=1)


if __name__ == "__main__":
  main()
