"""The report of `benchmarks.studies.search_proof`: table, plot and each claim as held / not held."""

from __future__ import annotations

import time

import numpy as np

LATENCY_AWARE = ("searched_cpu_T1", "searched_cpu_T2", "searched_cpu_T3")
BASELINES = ("k3e6_w0.5", "k3e6_w0.75", "k3e6_w1.0")


def _fmt(v, spec=".3f"):
  return "-" if v is None else format(v, spec)


def dominated_by(rows, name, references):
  """References at most as slow (measured float) and more accurate than `name`."""
  r = rows[name]
  return [o for o in references if o in rows and o != name
          and rows[o]["float_ms"] <= r["float_ms"] and rows[o]["acc"] > r["acc"]]


def front_accuracy(rows, latency):
  """The baselines' accuracy-vs-latency front (piecewise linear) at `latency`, if inside it."""
  points = sorted((rows[b]["float_ms"], rows[b]["acc"]) for b in BASELINES if b in rows)
  xs, ys = [p[0] for p in points], np.maximum.accumulate([p[1] for p in points])
  if not points or latency < xs[0] or latency > xs[-1]:
    return None
  return float(np.interp(latency, xs, ys))


def claims(rows) -> list[tuple[str, bool | None, str]]:
  out = []
  aware = [n for n in LATENCY_AWARE if n in rows]
  refs = [*BASELINES, "searched_blind"]
  detail = []
  ok = bool(aware)
  for n in aware:
    dom = dominated_by(rows, n, refs)
    front = front_accuracy(rows, rows[n]["float_ms"])
    # "on or above the front": not beaten by a faster reference, and no lower than the
    # baselines' front where it spans the net's latency (0.1 point of slack)
    ok &= not dom and (front is None or rows[n]["acc"] >= front - 0.001)
    detail.append(f"{n}: {rows[n]['float_ms']:.3f} ms, {rows[n]['acc']:.4f}"
                  + (f" (baseline front there {front:.4f})" if front is not None else "")
                  + (f", dominated by {', '.join(dom)}" if dom else ", not dominated"))
  out.append(("RQ4: latency-aware nets on or above the front of the baselines and the "
              "latency-blind net", ok if aware else None, "; ".join(detail)))

  base = rows.get("k3e6_w1.0")
  if base and aware:
    good = [n for n in aware if rows[n]["acc"] >= base["acc"] - 0.003]
    if good:
      best = min(good, key=lambda n: rows[n]["float_ms"])
      ratio = rows[best]["float_ms"] / base["float_ms"]
      out.append(("A searched CPU net with accuracy >= the width-1.0 baseline's (-0.3 points) "
                  "runs at <= 0.85x its latency", ratio <= 0.85,
                  f"{best}: {rows[best]['acc']:.4f} vs {base['acc']:.4f}, {ratio:.2f}x latency"))
    else:
      out.append(("A searched CPU net with accuracy >= the width-1.0 baseline's (-0.3 points) "
                  "runs at <= 0.85x its latency", False,
                  f"no latency-aware net reached {base['acc'] - 0.003:.4f} (best "
                  f"{max(rows[n]['acc'] for n in aware):.4f})"))

  for anchor, label in (("cpu_T2", "the middle latency-aware net"),
                        ("flops", "the FLOPs net (the quickstart's settings)")):
    rand = [rows[n]["acc"] for n in rows if n.startswith(f"random_{anchor}_")]
    name = f"searched_{anchor}"
    if name in rows and rand:
      median = float(np.median(rand))
      out.append((f"{label} beats the median random architecture at matched cost",
                  rows[name]["acc"] > median,
                  f"{rows[name]['acc']:.4f} vs median {median:.4f} of {len(rand)} "
                  f"({min(rand):.4f}-{max(rand):.4f})"))
  return out


def write(rows, state, args, png_path, publish):
  lines = ["## The search proves itself? (issue 9: Fashion-MNIST, `small` space, this CPU)", "",
           f"Command: `python -m benchmarks.studies.search_proof --out={args.out} --seeds={args.seeds} "
           f"--retrain_epochs={args.retrain_epochs} --train_examples={args.train_examples} "
           f"--weight_sharing={args.weight_sharing} --arch_lr={args.arch_lr}`  ",
           f"{time.strftime('%Y-%m-%d')}, CPU (2 cores). Searches: {args.search_examples} "
           f"training images, batch 64, {args.warmup_epochs} warm-up + {args.search_epochs} "
           f"search epochs of {args.steps_per_epoch} steps (the first without arch updates, as "
           f"the original), full_v2, Adam arch lr {args.arch_lr}, arch step every 2 weight "
           f"steps, `--weight_sharing={args.weight_sharing}`, requested-latency mode for every "
           "cost-aware search. Retraining: every net from scratch, "
           f"{args.retrain_epochs} epochs of {args.train_examples} images, batch 128, SGD "
           f"Nesterov lr 0.05 cosine, label smoothing 0.1; accuracy = mean over "
           f"{args.seeds} seeds on {args.test_examples} test images (Keras float; TFLite int8). "
           f"Latency: TFLite, 1 thread, XNNPACK, all nets interleaved, {args.rounds} rounds x "
           f"{args.runs} runs, medians. Predicted: `tables/host_small_*_t1.json` (widths "
           "0.5/0.75 are outside the table's space: no prediction). Requested latencies "
           f"(ms): {', '.join(f'{t:.3f}' for t in state['requested_ms'])} "
           "(from the measured baselines: width 0.5 or the space's floor, width 0.75, 0.85 x "
           "width 1.0); FLOPs / int8 / mobile searches request 0.7 x the width-1.0 baseline's "
           "cost in their own model.", "",
           "![accuracy vs latency](benchmarks/studies/search_proof.png)", "",
           "| net | requested | params | MMACs | pred float ms | float ms | pred int8 ms | int8 ms "
           "| acc (Keras) | acc int8 | search s | retrain s | blocks |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
  for name, r in rows.items():
    requested = (state.get(f"search/{name[len('searched_'):]}") or {}).get("requested")
    lines.append(f"| {name} | {_fmt(requested or None, '.4g')} | {r['params']:,} | "
                 f"{r['macs'] / 1e6:.2f} | {_fmt(r['pred_float'])} | {r['float_ms']:.3f} | "
                 f"{_fmt(r['pred_int8'])} | {r['int8_ms']:.3f} | {r['acc']:.4f} | "
                 f"{r['int8_acc']:.4f} | {_fmt(r['search_s'], '.0f')} | {r['retrain_s']:.0f} | "
                 f"{r['blocks']['string']} |")
  lines += ["", "Requested vs predicted vs measured (latency-aware, float):", "",
            "| net | requested ms | predicted ms | measured ms | predicted/requested | "
            "measured/requested |", "|---|---:|---:|---:|---:|---:|"]
  for name in LATENCY_AWARE:
    if name in rows:
      t = state[f"search/{name[len('searched_'):]}"]["requested"]
      r = rows[name]
      lines.append(f"| {name} | {t:.3f} | {r['pred_float']:.3f} | {r['float_ms']:.3f} | "
                   f"{r['pred_float'] / t:.3f} | {r['float_ms'] / t:.3f} |")
  gaps = [abs(r["acc_seeds"][0] - r["acc_seeds"][1]) for r in rows.values()
          if len(r["acc_seeds"]) >= 2]
  if gaps:
    spread = [r["acc"] for r in rows.values()]
    lines += ["", f"Seed noise: the two seeds of one net differ by {100 * np.mean(gaps):.2f} "
              f"accuracy points on average (largest {100 * max(gaps):.2f}); the means of all "
              f"{len(rows)} nets span {100 * (max(spread) - min(spread)):.2f} points. With "
              "E|a - b| = 2 sigma / sqrt(pi) for one seed, sigma is "
              f"{100 * np.mean(gaps) * np.sqrt(np.pi) / 2:.1f} points, and so is the standard "
              "deviation of the difference of two nets' 2-seed means: a smaller difference is "
              "noise."]
  lines += ["", "Claims:", ""]
  for text, held, detail in claims(rows):
    verdict = "not run" if held is None else ("HELD" if held else "NOT HELD")
    lines.append(f"- **{verdict}**: {text}. {detail}")
  lines += ["", "RQ5, what each cost model chose (blocks after the fixed first one; depth = "
            "blocks not skipped):", ""]
  for name, r in rows.items():
    if name.startswith("searched_"):
      b = r["blocks"]
      lines.append(f"- {name}: depth {b['depth']} ({b['skipped']} skipped), kernels "
                   f"3/5/7 = {b['kernels'][3]}/{b['kernels'][5]}/{b['kernels'][7]}, expand 3/6 = "
                   f"{b['expand'][3]}/{b['expand'][6]}")
  cost = []
  for name, r in rows.items():
    if name.startswith("searched_") and r["search_s"]:
      epochs = state[f"search/{name[len('searched_'):]}"]["epochs"]
      per_epoch = r["retrain_s"] / args.retrain_epochs
      cost.append(f"{name} {r['search_s'] / (per_epoch * epochs):.2f}")
  lines += ["", "Search cost = whole search wall time / (retraining the derived net for the same "
            f"number of epochs; a search epoch here is {args.steps_per_epoch} steps of 64 images, "
            f"a retrain epoch {args.train_examples} images): " + ", ".join(cost) + "."]
  publish("search_proof", lines)
  _plot(rows, png_path)


def _plot(rows, path):
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(7, 4.5))
  base = [n for n in BASELINES if n in rows]
  ax.plot([rows[n]["float_ms"] for n in base], [rows[n]["acc"] for n in base], "o-", color="k",
          label="k3e6 baselines (w 0.5/0.75/1.0)")
  rand = [n for n in rows if n.startswith("random_")]
  ax.scatter([rows[n]["float_ms"] for n in rand], [rows[n]["acc"] for n in rand], color="0.6",
             s=18, label="random at matched cost")
  aware = [n for n in LATENCY_AWARE if n in rows]
  ax.plot([rows[n]["float_ms"] for n in aware], [rows[n]["acc"] for n in aware], "*-",
          color="tab:red", ms=12, label="searched, latency-aware (CPU float)")
  for name, marker, color in (("searched_blind", "s", "tab:blue"),
                              ("searched_flops", "^", "tab:green"),
                              ("searched_int8", "D", "tab:purple"),
                              ("searched_mobile", "v", "tab:orange")):
    if name in rows:
      ax.scatter([rows[name]["float_ms"]], [rows[name]["acc"]], marker=marker, color=color, s=50,
                 label=name.replace("searched_", "searched, "))
  ax.set_xlabel("measured TFLite float latency, 1 thread (ms)")
  ax.set_ylabel("test accuracy (Keras, mean of seeds)")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, loc="lower right")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
