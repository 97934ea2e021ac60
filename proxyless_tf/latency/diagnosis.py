"""Busy, drifting or biased: what a check of a table against whole networks saw.

Three things make a table's prediction miss a measurement, and each asks for something else:

  noise  the rounds of one measurement disagree (another process, another tenant): the errors
         are noise; nothing should be fitted to them. Read as the round spread of the
         networks' times relative to their canaries (drift removed).
  drift  the whole machine runs faster or slower than when the table was built, or moves during
         the check: the canary sees it and it cancels (the speed factor); it is not an error of
         the table.
  bias   the prediction misses every network the same way (ops priced alone vs in context): a
         consistent error, fitted away by the table's correction (`correction.py`).

Thresholds, from measurements on both host kinds this has run on (2-vCPU VMs): quiet rounds
spread 0.05-0.5% (AMD EPYC) and 0.2-1.8% (Intel Xeon, whose speed drifts 5-10% in minutes); a
bias of 5-16% was consistent at those spreads. So a check is refused as busy only above 3%
spread after the canary, and a fit is stored only when it lowers the held-out error.
"""

from __future__ import annotations

import numpy as np

NOISY_PCT = 3.0  # round spread (after the canary) above which errors are noise: nothing fitted
DRIFT_PCT = 3.0  # speed factor or in-run canary movement above which the line says "drift"
BIAS_MIN_PCT = 1.0  # a mean error smaller than this is not worth calling a bias


def round_spread_pct(per_round) -> float:
  """How much a sample's round medians disagree: the median over samples of their median absolute
  deviation, relative. NaN with fewer than 3 rounds."""
  per_round = np.asarray(per_round, float)
  if per_round.ndim != 2 or per_round.shape[0] < 3:
    return float("nan")
  center = np.median(per_round, axis=0)
  return float(np.median(np.median(np.abs(per_round - center), axis=0) / center) * 100)


def canary_movement_pct(canary_rounds) -> float:
  """(slowest - fastest) / median of the canary's round medians during one check, in %."""
  rounds = np.median(np.asarray(canary_rounds, float).reshape(len(canary_rounds), -1), axis=1)
  return float((rounds.max() - rounds.min()) / np.median(rounds) * 100) if len(rounds) else 0.0


def bias(predicted, measured) -> tuple[float, float]:
  """(mean signed relative error %, its standard error %)."""
  err = (np.asarray(predicted, float) - np.asarray(measured, float)) / np.asarray(measured, float)
  se = err.std(ddof=1) / np.sqrt(len(err)) if len(err) > 1 else float("inf")
  return float(err.mean() * 100), float(se * 100)


def diagnose(noise_pct: float, speed: float | None, movement_pct: float, bias_pct: float,
             bias_se_pct: float) -> dict:
  busy = bool(np.isfinite(noise_pct) and noise_pct > NOISY_PCT)
  drift_pct = None if speed is None else (speed - 1) * 100
  drifting = bool((drift_pct is not None and abs(drift_pct) > DRIFT_PCT)
                  or movement_pct > DRIFT_PCT)
  biased = bool(not busy and abs(bias_pct) > max(BIAS_MIN_PCT, 3 * bias_se_pct))
  return {"busy": busy, "drifting": drifting, "biased": biased, "noise_pct": noise_pct,
          "drift_pct": drift_pct, "movement_pct": movement_pct, "bias_pct": bias_pct,
          "bias_se_pct": bias_se_pct}


def describe(d: dict) -> str:
  """One line: noise, drift and bias as seen, each with its number."""
  parts = []
  if not np.isfinite(d["noise_pct"]):
    parts.append("noise unknown (fewer than 3 rounds)")
  elif d["busy"]:
    parts.append(f"BUSY: rounds disagree by {d['noise_pct']:.1f}% (> {NOISY_PCT:g}%): errors are "
                 "noise, nothing fitted; rerun when the machine is quiet")
  else:
    parts.append(f"noise {d['noise_pct']:.2f}% between rounds")
  if d["drift_pct"] is None:
    parts.append(f"drift not known (no canary in the table; it moved {d['movement_pct']:.1f}% "
                 "during the check)")
  else:
    word = "slower" if d["drift_pct"] > 0 else "faster"
    parts.append(f"drift: the machine runs {abs(d['drift_pct']):.1f}% {word} than at the build and "
                 f"moved {d['movement_pct']:.1f}% during the check"
                 + (" (cancelled by the canary)" if d["drifting"] else ""))
  if d["biased"]:
    word = "low" if d["bias_pct"] < 0 else "high"
    parts.append(f"bias: the sum of ops is {abs(d['bias_pct']):.1f}% {word} on these networks "
                 f"(+-{d['bias_se_pct']:.1f}%), a consistent error the correction removes")
  else:
    parts.append(f"no consistent bias of the sum of ops ({d['bias_pct']:+.1f}% "
                 f"+-{d['bias_se_pct']:.1f}%)")
  return "; ".join(parts)
