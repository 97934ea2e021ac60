"""The specialize run's report: REPORT.md + latency.png, with verdicts a user can act on."""

from __future__ import annotations

import os
import shutil

from proxyless_tf.search.confidence import NEAR_UNIFORM
from proxyless_tf.utils.files import atomic_write_text

# Predicted latency within this of the measured one counts as "the predictor holds" here.
PREDICTOR_OK_PCT = 5.0


def _pct(a: float, b: float) -> float:
  return 100.0 * (a - b) / b


def verdicts(report: dict) -> list[str]:
  rows, precision = report["rows"], report["precision"]
  lines = []
  s = rows["searched"]
  measured_key = f"measured_{precision}_ms"
  if s["predicted"] is not None and s["unit"] == "ms":
    err = _pct(s["predicted"], s[measured_key])
    ok = "holds" if abs(err) <= PREDICTOR_OK_PCT else "does NOT hold"
    lines.append(f"- Predictor: predicted {s['predicted']:.3f} ms, measured {s[measured_key]:.3f} ms "
                 f"({precision}): {err:+.1f}%, the table {ok} here (bound +-{PREDICTOR_OK_PCT:g}%).")
  if report.get("target_latency") and s["predicted"] is not None:
    lines.append(requested_line(report, measured_key))
  ratio = report.get("search", {}).get("entropy_ratio")
  reranked = report.get("search", {}).get("reranked")
  if reranked:
    kept, gain = report["search"]["rerank_kept"], report["search"]["rerank_gain"]
    lines.append(f"- Re-ranking: {reranked} nets of the searched cost were each trained briefly "
                 "from scratch; " + ("the search's own net scored best on held-out training "
                                     "images." if kept == 0 else
                                     f"the searched net is candidate {kept}, {100 * gain:+.2f} "
                                     "points of held-out accuracy over the search's own pick (a "
                                     "short training ranks nets only roughly)."))
  elif ratio is not None and ratio > NEAR_UNIFORM:
    lines.append(f"- The search's learned distribution is still close to uniform (entropy "
                 f"{100 * ratio:.0f}% of its maximum): the searched net was picked by its cost and "
                 "chance more than by accuracy; compare it with random nets of its cost before "
                 "reading its choices as findings (more --epochs concentrate the distribution).")
  chance = [name for name, r in rows.items() if r["keras_accuracy"] < 1.5 / report["num_classes"]]
  if chance:
    lines.append(f"- {' and '.join(chance)} did not learn (accuracy at chance level for "
                 f"{report['num_classes']} classes): no accuracy comparison means anything. "
                 "Retrain longer (--retrain_epochs) or with a lower --retrain_lr.")
  elif "baseline" in rows:
    b = rows["baseline"]
    speed = s[measured_key] / b[measured_key]
    acc = 100 * (s["keras_accuracy"] - b["keras_accuracy"])
    if speed < 1 and acc >= -0.3:
      verdict = "the searched net is better for this target"
    elif speed >= 1 and acc <= 0:
      verdict = "the searched net is NOT better than the hand-designed one"
    else:
      verdict = "a trade-off: neither net dominates"
    lines.append(f"- Against the hand-designed net of the space (k3 e6 everywhere): "
                 f"{speed:.2f}x its measured {precision} latency, {acc:+.2f} points of accuracy: "
                 f"{verdict}.")
  for name, r in rows.items():
    if not r["export_ok"]:
      lines.append(f"- {name}: an exported file FAILED its check against Keras (see above).")
  return lines


def requested_line(report: dict, measured_key: str) -> str:
  """Requested / predicted / measured, in the cost's unit and as a ratio to the reference net
  (the hand-designed k3 e6 net, benchmarked in the same rounds); ms measured now are divided by
  the machine's speed factor (the table's canary, timed in the same rounds)."""
  rows, t = report["rows"], report["target_latency"]
  s, request = rows["searched"], report.get("request") or {}
  asked = f"{t:.3f} {s['unit']}"
  if request.get("ratio") is not None:
    asked = f"{request['ratio']:g}x the reference net = {asked}"
  line = f"- Requested latency {asked}: predicted {s['predicted']:.3f} ({_pct(s['predicted'], t):+.1f}%)"
  if s["unit"] == "ms":
    speed = report.get("speed_factor")
    ms = s[measured_key] / (speed or 1.0)
    line += (f", measured {ms:.3f} ms ({_pct(ms, t):+.1f}%" +
             (f", at the table's speed: speed factor {speed:.3f} now" if speed else
              ", now: the table has no canary, so drift since its build is in this number") + ")")
    b = rows.get("baseline")
    if b and request.get("reference") and b.get("predicted"):
      wanted = t / request["reference"]
      got = s[measured_key] / b[measured_key]
      line += (f"; as a ratio to the reference net: requested {wanted:.3f}, predicted "
               f"{s['predicted'] / b['predicted']:.3f}, measured {got:.3f} side by side "
               f"({_pct(got, wanted):+.1f}%)")
  return line + "."


def latency_png(report: dict, path: str) -> None:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  precision = report["precision"]
  fig, ax = plt.subplots(figsize=(5, 3.6))
  for name, r in report["rows"].items():
    ax.scatter(r[f"measured_{precision}_ms"], 100 * r["keras_accuracy"], s=30,
               label=f"{name} (measured)")
    if r["predicted"] is not None and r["unit"] == "ms":
      ax.scatter(r["predicted"], 100 * r["keras_accuracy"], marker="x", s=30,
                 label=f"{name} (predicted)")
  if report.get("target_latency") and report["rows"]["searched"]["unit"] == "ms":
    ax.axvline(report["target_latency"], color="k", ls="--", lw=1, label="requested")
  ax.set_xlabel(f"latency, {precision} (ms)")
  ax.set_ylabel("test accuracy (%)")
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=130)
  plt.close(fig)


def write_report(report: dict, out: str) -> str:
  rows = report["rows"]
  arch_png = os.path.join(out, "arch.png")
  shutil.copyfile(report["search"]["png"], arch_png)
  latency_png(report, os.path.join(out, "latency.png"))
  device = "phone (adb)" if report["adb"] else "this host (LiteRT, XNNPACK)"
  lines = ["# Specialized network", "",
           f"Target: {report['cost_model']}; measured on {device}, {report['num_threads']} "
           f"thread(s); every net retrained from scratch for {report['epochs']} epochs with the "
           f"same recipe. Search took {report['search']['seconds']:.0f} s.", "",
           "![architecture](arch.png)", "",
           "| net | params | MACs | predicted | measured float ms | measured int8 ms | "
           "test acc (Keras) | test acc (int8 TFLite) | retrain s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
  for name, r in rows.items():
    predicted = "-" if r["predicted"] is None else f"{r['predicted']:.3f} {r['unit']}"
    lines.append(f"| {name} ({r['arch']}) | {r['params']:,} | {r['macs'] / 1e6:.1f}M | {predicted} | "
                 f"{r['measured_float_ms']:.3f} | {r['measured_int8_ms']:.3f} | "
                 f"{r['keras_accuracy']:.4f} | {r['int8_accuracy']:.4f} | {r['retrain_s']:.0f} |")
  lines += ["", "## Verdicts", ""] + verdicts(report) + ["", "![latency vs accuracy](latency.png)",
                                                         ""]
  path = os.path.join(out, "REPORT.md")
  atomic_write_text(path, "\n".join(lines))
  return path
