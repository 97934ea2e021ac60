"""Predictor validation: random architectures of the table's space, predicted vs measured end to end.

Summing per-op latencies misses what a whole model costs beyond its ops (interpreter overhead per
invoke, cache effects between ops: on this host about +1 ms per proxyless model), so
`fit_calibration` fits measured ~ offset + scale * sum. The error after it is reported
leave-one-out (each sample predicted by a fit on the others), and a later run with another seed
checks the stored calibration on architectures it has never seen.
"""

from __future__ import annotations

import time

import numpy as np

from proxyless_tf.export.tflite import convert_for_timing
from proxyless_tf.latency.measure import op_tflite
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
  return convert_for_timing(build_model(config), precision, seed, max_depthwise_taps)


def raw_sum(table, config) -> float:
  return float(sum(table.latency(table.entry_key(op) or op.key) for op in arch_ops(config)))


def metrics(predicted, measured) -> dict:
  predicted, measured = np.asarray(predicted, float), np.asarray(measured, float)
  err = predicted - measured
  return {"mae_pct": float(np.mean(np.abs(err) / measured) * 100),
          "rmse": float(np.sqrt(np.mean(err ** 2))),
          "rank_corr": spearman(predicted, measured),
          "bias_pct": float(np.mean(err / measured) * 100)}


def spearman(a, b) -> float:
  ra = np.argsort(np.argsort(a)).astype(float)
  rb = np.argsort(np.argsort(b)).astype(float)
  if ra.std() == 0 or rb.std() == 0:
    return float("nan")
  return float(np.corrcoef(ra, rb)[0, 1])


BUSY_SPREAD_PCT = 1.5
# The table's own ops re-timed during a validation run: more than this off their entries and the
# machine is not in the state the table was measured in. A uniformly slow spell (another process
# running through every round) does not show in the round spread, but shows here.
DRIFT_PCT = 3.0
REFERENCE_OPS = 3


def reference_ops(table, space, count: int = REFERENCE_OPS) -> list:
  """A few of the table's ops (its largest ones: timed most precisely), re-timed next to the
  networks of a validation run (after them in every round)."""
  from proxyless_tf.latency.ops import all_space_ops
  ops = [op for op in all_space_ops(space) if op.key in table.entries]
  return sorted(ops, key=lambda op: -table.latency(op.key))[:count]


def round_spread_pct(per_round) -> float:
  """How much a sample's round medians disagree: the median over samples of their median absolute
  deviation, relative. 0.2-0.5% on this host when it is quiet; a busy machine (another process,
  another tenant of the VM) shows as several % and makes any error it reports noise. NaN with
  fewer than 3 rounds."""
  per_round = np.asarray(per_round, float)
  if per_round.shape[0] < 3:
    return float("nan")
  center = np.median(per_round, axis=0)
  return float(np.median(np.median(np.abs(per_round - center), axis=0) / center) * 100)


def fit_calibration(raw, measured, iterations: int = 100) -> tuple[float, float]:
  """(scale, offset) minimizing the mean absolute relative error |offset + scale * raw - m| / m.

  Relative, because the goal is a small error in percent across fast and slow architectures
  (plain least squares lets the slowest samples decide); absolute, not squared, because that goal
  is a mean absolute error and one measurement disturbed by the machine should not pull the fit.
  Solved by iteratively reweighted least squares from the least-squares start.
  """
  raw, measured = np.asarray(raw, float), np.asarray(measured, float)
  A = np.stack([raw, np.ones(len(raw))], axis=1) / measured[:, None]
  target = np.ones(len(raw))
  coef, *_ = np.linalg.lstsq(A, target, rcond=None)
  for _ in range(iterations):
    weights = 1.0 / np.sqrt(np.maximum(np.abs(A @ coef - target), 1e-6))
    new, *_ = np.linalg.lstsq(A * weights[:, None], target * weights, rcond=None)
    if np.allclose(new, coef, rtol=1e-9, atol=1e-12):
      break
    coef = new
  return float(coef[0]), float(coef[1])


def leave_one_out(raw, measured) -> np.ndarray:
  """Each sample predicted by the calibration fit on all the others: held-out errors from every
  sample, instead of from a half that the fit never sees."""
  raw, measured = np.asarray(raw, float), np.asarray(measured, float)
  out = np.empty(len(raw))
  for i in range(len(raw)):
    keep = np.arange(len(raw)) != i
    scale, offset = fit_calibration(raw[keep], measured[keep])
    out[i] = offset + scale * raw[i]
  return out


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
  threads = int(meta.get("threads", 1))
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


def validate_table(table, samples: int, rounds: int, seed: int, fit: bool, measure,
                   log=print, references: int = REFERENCE_OPS) -> dict:
  """Predicted vs measured on random archs, measured in `rounds` interleaved rounds over all of
  them (median of the round medians, like the table's entries); with `fit`, also fits and stores
  the calibration when its leave-one-out error beats the plain sum's."""
  from proxyless_tf.latency.builder import space_from_metadata
  from proxyless_tf.latency.table import TableCostModel
  space = space_from_metadata(table.metadata)
  model = TableCostModel(table)
  precision = table.metadata.get("precision", "float")
  if fit and samples < 4:
    raise UserError(f"--fit needs --samples >= 4 (two constants, fit leave-one-out), got {samples}")
  if rounds < 1:
    raise UserError(f"--rounds must be >= 1, got {rounds}")
  if references < 0:
    raise UserError(f"--reference_ops must be >= 0, got {references}")
  archs = list(random_archs(space, samples, seed))
  for arch in archs:
    model.check_covers(arch_ops(arch))
  log(f"exporting {len(archs)} random {space.name} architectures ({precision})")
  progress = Progress(len(archs), "export")
  contents = []
  for arch in archs:
    # the networks are exported the way the table's ops were (tables from before the XNNPACK
    # rewrite record no `depthwise_max_taps`: their ops were not split)
    contents.append(arch_tflite(arch, precision,
                                max_depthwise_taps=table.metadata.get("depthwise_max_taps")))
    progress.update(1)
  progress.close()
  references = reference_ops(table, space, references)
  ref_contents = [op_tflite(op, precision, max_depthwise_taps=table.metadata.get(
      "depthwise_max_taps")) for op in references]
  progress = Progress((len(archs) + len(references)) * rounds, f"measure ({rounds} rounds)")
  per_round, ref_rounds = [], []
  for _ in range(rounds):
    per_round.append([])
    for content in contents:
      per_round[-1].append(measure(content))
      progress.update(1, last=f"{per_round[-1][-1]:.3f}ms")
    ref_rounds.append([measure(content) for content in ref_contents])
    progress.update(len(ref_contents))
  progress.close()
  measured = np.median(np.array(per_round), axis=0)
  drift = (float(np.median(np.median(ref_rounds, axis=0) / [table.latency(op.key)
                                                             for op in references]) - 1) * 100
           if references else 0.0)
  raw = np.array([raw_sum(table, a) for a in archs])
  scale, offset = table.calibration
  predicted = offset + scale * raw
  log(f"{'sample':<10} {'predicted':>10} {'measured':>10} {'err %':>7}")
  for a, p, m in zip(archs, predicted, measured):
    log(f"{a.name:<10} {p:>10.4f} {m:>10.4f} {100 * (p - m) / m:>7.1f}")
  spread = round_spread_pct(per_round)
  busy = spread > BUSY_SPREAD_PCT or abs(drift) > DRIFT_PCT
  report = {"all": metrics(predicted, measured), "raw": metrics(raw, measured),
            "mean_measured_ms": float(measured.mean()), "round_spread_pct": spread,
            "reference_drift_pct": drift, "busy": busy}
  r, plain = report["all"], report["raw"]
  log(f"all {len(archs)}: MAE {r['mae_pct']:.2f}%  RMSE {r['rmse']:.4f} ms  rank corr "
      f"{r['rank_corr']:.3f}  bias {r['bias_pct']:+.1f}%  (calibration scale={scale:.4f} "
      f"offset={offset:.4f}; plain sum of ops: MAE {plain['mae_pct']:.2f}%)")
  log(f"round-to-round spread of the measurements: {spread:.2f}% (quiet machine: < 0.5%); "
      f"{len(references)} of the table's ops re-timed now: {drift:+.1f}% vs the table")
  if abs(drift) > DRIFT_PCT:
    log(f"WARNING: the table's own ops run {drift:+.1f}% off their entries right now: the machine "
        "is not in the state the table was measured in (busy, throttled, or another machine), so "
        "these errors say more about that than about the predictor. Rerun when it is quiet.")
  elif busy:
    log(f"WARNING: the measurements disagree by {spread:.1f}% between rounds: the machine was busy "
        "while measuring, so these errors are mostly noise. Rerun when it is quiet.")
  if fit and busy:
    log(f"no calibration fitted: fitting to noisy measurements would make {table.path} worse "
        "(its calibration is left as it was)")
    report["stored_calibration"] = "calibration" in table.metadata
  elif fit:
    scale, offset = fit_calibration(raw, measured)
    held = metrics(leave_one_out(raw, measured), measured)
    report.update(loo_fit=held, fit={"scale": scale, "offset": offset})
    log(f"fit on all {len(archs)} samples: scale={scale:.4f} offset={offset:.4f} ms")
    log(f"leave-one-out: sum of ops MAE {plain['mae_pct']:.2f}% RMSE {plain['rmse']:.4f} -> "
        f"calibrated MAE {held['mae_pct']:.2f}% RMSE {held['rmse']:.4f} "
        f"rank corr {held['rank_corr']:.3f}")
    if held["mae_pct"] < plain["mae_pct"]:
      table.metadata["calibration"] = {"scale": scale, "offset": offset, "fit_samples": len(archs),
                                       "fit_seed": seed, "loo_mae_pct": held["mae_pct"],
                                       "date": time.strftime("%Y-%m-%d")}
      table.save()
      predicted = offset + scale * raw
      log(f"stored the calibration in {table.path}; check it on other architectures with "
          f"--seed={seed + 1} (no --fit)")
    else:
      table.metadata.pop("calibration", None)
      table.save()
      predicted = raw
      log("the calibration does not lower the held-out error (the residual is noise, not bias); "
          f"{table.path} is left uncalibrated")
    report["stored_calibration"] = "calibration" in table.metadata
  report["predicted"], report["measured"] = predicted.tolist(), measured.tolist()
  return report
