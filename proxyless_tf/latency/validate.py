"""Predictor validation: random architectures of the table's space, predicted vs measured end to end.

Each network is timed right after the table's canary (`canary.py`), so its time is known both
now and at the machine's speed during the table's build; the sum of ops misses the latter by
what ops cost in context beyond their time alone (`correction.py` fits that away) and by
per-invoke overhead. Errors after a fit are reported leave-one-out (each sample predicted by a
fit on the others), and a later run with another seed checks the stored correction on
architectures it has never seen.
"""

from __future__ import annotations

import time

import numpy as np

from proxyless_tf.latency import correction as K
from proxyless_tf.latency.correction import fit_calibration  # noqa: F401  (its older home)
from proxyless_tf.latency.diagnosis import round_spread_pct
from proxyless_tf.latency.ops import arch_ops
from proxyless_tf.errors import UserError
from proxyless_tf.utils.progress import Progress
from proxyless_tf.model import build_model


def random_archs(space, count: int, seed: int = 0):
  rng = np.random.default_rng(seed)
  specs = space.mixed_ops()
  for i in range(count):
    choices = [int(rng.integers(len(s.candidates))) for s in specs]
    yield space.derive(choices, name=f"sample_{i}")


def arch_tflite(config, precision: str, seed: int = 0,
                max_depthwise_taps: int | None = None) -> bytes:
  from proxyless_tf.export.tflite import convert_for_timing
  return convert_for_timing(build_model(config), precision, seed, max_depthwise_taps)


def metrics(predicted, measured) -> dict:
  predicted, measured = np.asarray(predicted, float), np.asarray(measured, float)
  err = predicted - measured
  return {"mae_pct": K.mae_pct(predicted, measured),
          "rmse": float(np.sqrt(np.mean(err ** 2))),
          "rank_corr": spearman(predicted, measured),
          "bias_pct": float(np.mean(err / measured) * 100)}


def spearman(a, b) -> float:
  ra = np.argsort(np.argsort(a)).astype(float)
  rb = np.argsort(np.argsort(b)).astype(float)
  if ra.std() == 0 or rb.std() == 0:
    return float("nan")
  return float(np.corrcoef(ra, rb)[0, 1])


def leave_one_out(raw, measured) -> np.ndarray:
  """Each sample predicted by the global calibration fit on all the others: held-out errors
  from every sample, instead of from a half that the fit never sees."""
  raw = np.asarray(raw, float)
  return K.leave_one_out("global", raw[:, None], measured, [K.FIXED_GROUP])


def scatter_png(path: str, predicted, measured, title: str) -> None:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(4.2, 4.2))
  ax.scatter(measured, predicted, s=14)
  lo = min(min(predicted), min(measured)) * 0.95
  hi = max(max(predicted), max(measured)) * 1.05
  ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
  ax.set_xlabel("measured (ms)")
  ax.set_ylabel("predicted (ms)")
  ax.set_title(title, fontsize=8)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=130)
  plt.close(fig)


def measurer_for(meta, runs: int = 50, serial: str | None = None):
  """(content -> median ms) on the table's device."""
  from proxyless_tf.latency.xla import is_xla_table
  if is_xla_table(meta):  # contents are compiled callables (`xla.compile_arch`)
    from proxyless_tf.latency.xla import time_runner
    return lambda run: time_runner(run, warmup=5, runs=runs, max_seconds=2.0)["median_ms"]
  threads = int(meta.get("threads") or 1)
  if str(meta.get("device", "")).startswith("android"):
    from proxyless_tf.benchmark.android import Adb, benchmark_android_content
    adb = Adb(serial)

    def measure(content):
      s = benchmark_android_content(content, "sample.tflite", num_threads=threads, runs=runs,
                                    adb=adb, delegate=meta.get("delegate", "xnnpack")).summary
      return s["median_ms"] if s.get("median_ms") is not None else s["mean_ms"]
    return measure
  if not str(meta.get("device", "")).startswith("host"):
    raise UserError(f"cannot measure on device {meta.get('device')!r}: validation needs the "
                    "table's device (host, or an android phone via adb)")
  from proxyless_tf.benchmark.host import benchmark_host

  def measure(content):
    return benchmark_host(model_content=content, num_threads=threads, warmup=10,
                          runs=runs).summary["median_ms"]
  return measure


def _timed_forms(table, archs, space_name: str, log) -> tuple[list, object]:
  """What the table's measurer times: each network and the canary exported the way the table's
  ops were (TFLite bytes), or compiled for an XLA table (callables)."""
  from proxyless_tf.latency import canary as C
  from proxyless_tf.latency.xla import compile_arch, compile_op, is_xla_table
  meta = table.metadata
  precision = meta.get("precision", "float")
  if is_xla_table(meta):
    batch = int(meta.get("batch_size") or 8)
    form, verb, label = (lambda arch: compile_arch(arch, batch, precision)), "compiling", "compile"
    canary = compile_op(C.canary_of(table), batch, precision)
  else:
    taps = meta.get("depthwise_max_taps")  # tables from before the rewrite: ops whole
    form, verb, label = ((lambda arch: arch_tflite(arch, precision, max_depthwise_taps=taps)),
                         "exporting", "export")
    canary = None
  log(f"{verb} {len(archs)} random {space_name} architectures ({precision})")
  progress = Progress(len(archs), label)
  contents = []
  for arch in archs:
    contents.append(form(arch))
    progress.update(1)
  progress.close()
  return contents, canary if canary is not None else C.canary_tflite(table)


def validate_table(table, samples: int, rounds: int, seed: int, fit: bool, measure,
                   log=print) -> dict:
  """Predicted vs measured on random archs, each timed right after the table's canary in
  `rounds` interleaved rounds (median of the round medians, like the table's entries).

  Errors are reported raw (ms now vs the table's ms), corrected by the canary's speed factor
  (ms at the table's speed: drift since the build cancelled), and after the table's stored
  correction; `diagnosis.py` tells noise, drift and bias apart. With `fit`, every correction
  method is fitted and the one with the lowest leave-one-out error is stored (`correction.py`),
  unless the machine was too busy for the errors to mean anything.
  """
  from proxyless_tf.latency import canary as C
  from proxyless_tf.latency import diagnosis as D
  from proxyless_tf.latency.table_space import space_from_metadata
  from proxyless_tf.latency.table import TableCostModel
  space = space_from_metadata(table.metadata)
  model = TableCostModel(table)
  if fit and samples < 4:
    raise UserError(f"--fit needs --samples >= 4 (two constants, fit leave-one-out), got {samples}")
  if rounds < 1:
    raise UserError(f"--rounds must be >= 1, got {rounds}")
  archs = list(random_archs(space, samples, seed))
  for arch in archs:
    model.check_covers(arch_ops(arch))
  contents, canary_content = _timed_forms(table, archs, space.name, log)
  progress = Progress(len(archs) * rounds, f"measure ({rounds} rounds, each after the canary)")
  per_round, canary_rounds = C.time_rounds(measure, contents, canary_content, rounds, progress)
  progress.close()
  measured = np.median(per_round, axis=0)  # ms now
  ratios = np.median(per_round / canary_rounds, axis=0)
  then = C.table_canary_ms(table)
  speed = C.speed_factor(canary_rounds.ravel(), table)
  # what each network costs at the machine's speed during the build (the table's ms)
  target = ratios * then if then else measured
  designs = K.designs_for(table, archs, space)
  raw = designs["sum"][0].sum(axis=1)
  predicted = np.array([model.predict(a) for a in archs])
  noise = round_spread_pct(per_round / canary_rounds)
  bias_pct, bias_se = D.bias(raw, target)
  diagnosis = D.diagnose(noise, speed, D.canary_movement_pct(canary_rounds), bias_pct, bias_se)
  report = {"all": metrics(predicted, target), "raw": metrics(raw, measured),
            "raw_canary": metrics(raw, target) if then else None,
            "mean_measured_ms": float(measured.mean()), "speed_factor": speed,
            "round_spread_pct": round_spread_pct(per_round), "noise_pct": noise,
            "diagnosis": diagnosis, "busy": diagnosis["busy"], "has_canary": bool(then),
            "method": (table.correction or {}).get("method", "sum")}
  log(f"{'sample':<10} {'predicted':>10} {'measured':>10} {'at build':>10} {'err %':>7}")
  for a, p, m, t in zip(archs, predicted, measured, target):
    log(f"{a.name:<10} {p:>10.4f} {m:>10.4f} {t:>10.4f} {100 * (p - t) / t:>7.1f}")
  r = report["all"]
  log(f"all {len(archs)}: MAE {r['mae_pct']:.2f}%  RMSE {r['rmse']:.4f} ms  rank corr "
      f"{r['rank_corr']:.3f}  bias {r['bias_pct']:+.1f}%  (correction: {report['method']}; "
      f"plain sum of ops: MAE {report['raw']['mae_pct']:.2f}% raw"
      + (f", {report['raw_canary']['mae_pct']:.2f}% after the canary)" if then else ")"))
  if then:
    log(f"speed factor now: {speed:.3f} (canary {np.median(canary_rounds):.4f} ms now, "
        f"{then:.4f} ms at the build); errors above are at the build's speed")
  else:
    log(f"NOTE: {C.NO_CANARY}")
  log(D.describe(diagnosis))
  if fit and diagnosis["busy"]:
    log(f"no correction fitted: fitting to noisy measurements would make {table.path} worse "
        "(its correction is left as it was)")
  elif fit:
    chosen, held = K.select(designs, target)
    chosen.update(fixed_ops=sorted(K.fixed_keys_of(space)) if chosen["method"] in K.GROUPED
                  else None, fit_samples=len(archs), fit_seed=seed,
                  held_out_mae_pct={m: round(v, 3) for m, v in held.items()},
                  date=time.strftime("%Y-%m-%d %H:%M"))
    chosen = {k: v for k, v in chosen.items() if v is not None}
    report.update(held_out=held, fit=chosen, loo_fit={"mae_pct": held[chosen["method"]]})
    log("leave-one-out MAE: " + ", ".join(f"{m} {held[m]:.2f}%" for m in K.METHODS)
        + f" -> keeping {chosen['method']}")
    if chosen["method"] in K.GROUPED:
      log(f"{chosen['method']} factors: " + " ".join(f"{g}={f:.3f}" for g, f in chosen["factors"].items()))
    elif chosen["method"] == "global":
      log(f"global: scale={chosen['scale']:.4f} offset={chosen['offset']:.4f} ms")
    table.metadata.pop("calibration", None)
    table.metadata["correction"] = chosen
    table.save()
    predicted = K.predict(chosen, *designs[chosen["method"]])
    log(f"stored the correction in {table.path}; check it on other architectures with "
        f"--seed={seed + 1} (no --fit)")
  report["stored_calibration"] = (table.correction or {}).get("method", "sum") != "sum"
  report["predicted"], report["measured"] = predicted.tolist(), target.tolist()
  report["measured_now"] = measured.tolist()
  return report
