"""Predictor validation: random architectures of the table's space, predicted vs measured end to end.

Summing per-op latencies misses what a whole model costs beyond its ops (interpreter overhead per
invoke, cache effects between ops), so `fit_calibration` fits measured ~ offset + scale * sum on
one half of the samples and the other half reports the error before and after: the correction is
judged on architectures it was not fit on.
"""

from __future__ import annotations

import numpy as np

from proxyless_tf.export.tflite import convert_keras, representative_from_batch, set_bn_statistics
from proxyless_tf.latency.ops import arch_ops
from proxyless_tf.errors import UserError
from proxyless_tf.model import build_model


def random_archs(space, count: int, seed: int = 0):
  rng = np.random.default_rng(seed)
  specs = space.mixed_ops()
  for i in range(count):
    choices = [int(rng.integers(len(s.candidates))) for s in specs]
    yield space.derive(choices, name=f"sample_{i}")


def arch_tflite(config, precision: str, seed: int = 0) -> bytes:
  model = build_model(config)
  batch = np.random.default_rng(seed).standard_normal(
      (8, config.input_size, config.input_size, config.input_channels)).astype(np.float32)
  set_bn_statistics(model, batch)
  return convert_keras(model, precision, representative_from_batch(batch)
                       if precision == "int8" else None)


def raw_sum(table, config) -> float:
  return float(sum(table.latency(op.key) for op in arch_ops(config)))


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


def fit_calibration(raw, measured) -> tuple[float, float]:
  """Least squares on relative error: (offset + scale * raw - measured) / measured.

  Relative, because the goal is a small error in percent across fast and slow architectures;
  plain least squares lets the slowest samples decide and can worsen the fastest ones.
  """
  raw, measured = np.asarray(raw, float), np.asarray(measured, float)
  A = np.stack([raw, np.ones(len(raw))], axis=1) / measured[:, None]
  (scale, offset), *_ = np.linalg.lstsq(A, np.ones(len(raw)), rcond=None)
  return float(scale), float(offset)


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
                                    adb=adb, delegate=meta.get("delegate", "none")).summary
      return s["median_ms"] if s.get("median_ms") is not None else s["mean_ms"]
    return measure
  if not str(meta.get("device", "")).startswith("host"):
    raise UserError(f"cannot measure on device {meta.get('device')!r}: validation needs the "
                    "table's device (host, or an android phone via adb)")
  from proxyless_tf import litert
  from proxyless_tf.benchmark.host import time_interpreter

  def measure(content):
    interp = litert.make_interpreter(model_content=content, num_threads=threads)
    return float(np.median(time_interpreter(interp, warmup=10, runs=runs)))
  return measure


def validate_table(table, samples: int, rounds: int, seed: int, fit: bool, measure,
                   log=print) -> dict:
  """Predicted vs measured on random archs; with `fit`, calibrates on half, reports the other."""
  from proxyless_tf.latency.builder import space_from_metadata
  from proxyless_tf.latency.ops import arch_ops
  from proxyless_tf.latency.table import TableCostModel
  space = space_from_metadata(table.metadata)
  model = TableCostModel(table)
  precision = table.metadata.get("precision", "float")
  archs = list(random_archs(space, samples, seed))
  for arch in archs:
    model.check_covers(arch_ops(arch))
  log(f"exporting {len(archs)} random {space.name} architectures ({precision})")
  contents = [arch_tflite(a, precision) for a in archs]
  measured = np.median(np.array([[measure(c) for c in contents] for _ in range(rounds)]), axis=0)
  raw = np.array([raw_sum(table, a) for a in archs])
  scale, offset = table.calibration
  predicted = offset + scale * raw
  log(f"{'sample':<10} {'predicted':>10} {'measured':>10} {'err %':>7}")
  for a, p, m in zip(archs, predicted, measured):
    log(f"{a.name:<10} {p:>10.4f} {m:>10.4f} {100 * (p - m) / m:>7.1f}")
  report = {"all": metrics(predicted, measured), "mean_measured_ms": float(measured.mean())}
  r = report["all"]
  log(f"all {len(archs)}: MAE {r['mae_pct']:.2f}%  RMSE {r['rmse']:.4f} ms  rank corr "
      f"{r['rank_corr']:.3f}  bias {r['bias_pct']:+.1f}%  (calibration scale={scale:.4f} "
      f"offset={offset:.4f})")
  if fit:
    half = len(archs) // 2
    new_scale, new_offset = fit_calibration(raw[:half], measured[:half])
    held = slice(half, None)
    report["heldout_raw"] = metrics(raw[held], measured[held])
    report["heldout_fit"] = metrics(new_offset + new_scale * raw[held], measured[held])
    report["fit"] = {"scale": new_scale, "offset": new_offset}
    plain, fitted = report["heldout_raw"], report["heldout_fit"]
    log(f"fit on {half} samples: scale={new_scale:.4f} offset={new_offset:.4f} ms")
    log(f"held-out {len(archs) - half}: sum of ops MAE {plain['mae_pct']:.2f}% RMSE "
        f"{plain['rmse']:.4f} -> calibrated MAE {fitted['mae_pct']:.2f}% RMSE {fitted['rmse']:.4f} "
        f"rank corr {fitted['rank_corr']:.3f}")
    if fitted["mae_pct"] < plain["mae_pct"]:
      table.metadata["calibration"] = {"scale": new_scale, "offset": new_offset,
                                       "fit_samples": half, "heldout_mae_pct": fitted["mae_pct"]}
      table.save()
      predicted = new_offset + new_scale * raw
      log(f"stored the calibration in {table.path}")
    else:
      table.metadata.pop("calibration", None)
      table.save()
      predicted = raw
      log("the calibration does not lower the held-out error (the residual is noise, not bias); "
          f"{table.path} is left uncalibrated")
    report["stored_calibration"] = "calibration" in table.metadata
  report["predicted"], report["measured"] = predicted.tolist(), measured.tolist()
  return report
