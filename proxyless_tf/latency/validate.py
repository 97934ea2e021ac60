"""Predictor validation: random architectures of the table's space, predicted vs measured end to end.

Summing per-op latencies misses what a whole model costs beyond its ops (interpreter overhead per
invoke, cache effects between ops), so `fit_calibration` fits measured ~ offset + scale * sum on
one half of the samples and the other half reports the error before and after: the correction is
judged on architectures it was not fit on.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from proxyless_tf.export.tflite import convert_keras, representative_from_batch, set_bn_statistics
from proxyless_tf.latency.ops import arch_ops
from proxyless_tf.model import build_model


@dataclasses.dataclass
class Sample:
  name: str
  raw_sum: float  # sum of table entries, no calibration
  measured: float


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
  """Least squares measured = offset + scale * raw."""
  A = np.stack([np.asarray(raw, float), np.ones(len(raw))], axis=1)
  (scale, offset), *_ = np.linalg.lstsq(A, np.asarray(measured, float), rcond=None)
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
