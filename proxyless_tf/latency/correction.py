"""Ops priced in context: corrections of a table's sum of ops, fitted on whole networks.

An op timed alone runs with its input and weights hot in cache; inside a network it follows
other ops that evicted them, and on some hosts (measured: an Intel Xeon VM, 5-14% low, growing
with the network) that costs more than the interpreter overhead the sum over-counts. How much
depends on the op: its resolution decides its working set. Four predictors of a network's
latency from the table's entries, each fitted on random networks measured end to end:

  sum       plain sum of the entries (nothing fitted)
  global    offset + scale x sum (one overhead per network, one factor for everything)
  per_kind  sum over groups g of factor_g x (entries of the network's ops in g): one factor
            per op kind and resolution, least squares on relative errors with every factor held
            in [0.5, 2] (an op in context costs between half and twice its time alone: a factor
            of 0, which plain non-negative least squares allows for a group that varies little,
            would make that group free for the search). The ops every network has (stem, first
            block, head conv, logits) form one group, which plays the offset's part (factor in
            [0, 4]: it also carries the per-network overhead).
  per_kernel  the same with one factor per op kind, kernel size and resolution (a 7x7 depthwise
            runs as three split convs on XNNPACK, whose cost in context differs from 3x3's);
            a family may name more of what sets an op's cost in context (`Family.op_variant`:
            MobileNetV3-like blocks add their squeeze-and-excite).

All four stay a sum over ops of corrected entries plus a constant, so the search's expected
latency stays differentiable and its code is the same for every table. `select` keeps the one
with the lowest held-out (leave-one-out) error; the table records which (`metadata.correction`).
"""

from __future__ import annotations

import numpy as np

from proxyless_tf.latency.ops import OpSpec, arch_ops

METHODS = ("sum", "global", "per_kind", "per_kernel")
GROUPED = ("per_kind", "per_kernel")
FIXED_GROUP = "fixed"


def group_of(op: OpSpec, fixed_keys: frozenset, method: str = "per_kind") -> str:
  """An op's correction group: its kind (and kernel, for per_kernel) and resolution, or `fixed`
  for ops every net has."""
  if op.key in fixed_keys:
    return FIXED_GROUP
  if method == "per_kernel":  # the variant its family names: the kernel, by default
    from proxyless_tf.families import family_of_op_kind
    return f"{op.kind}:{family_of_op_kind(op.kind).op_variant(op)}@{op.resolution}"
  return f"{op.kind}@{op.resolution}"


def fixed_keys_of(space) -> frozenset:
  from proxyless_tf.latency.ops import space_ops
  fixed, _ = space_ops(space)
  return frozenset(op.key for op in fixed if op is not None)


def design(table, archs, fixed_keys, method: str = "per_kind") -> tuple[np.ndarray, list[str]]:
  """Per network, the sum of its entries in each group (columns in sorted group order)."""
  rows = []
  for arch in archs:
    row = {}
    for op in arch_ops(arch):
      key = table.entry_key(op) or op.key
      g = group_of(op, fixed_keys, method)
      row[g] = row.get(g, 0.0) + table.latency(key)
    rows.append(row)
  groups = sorted({g for row in rows for g in row})
  return np.array([[row.get(g, 0.0) for g in groups] for row in rows]), groups


FACTOR_BOUNDS = (0.5, 2.0)
FIXED_BOUNDS = (0.0, 4.0)  # the fixed group also carries the per-network overhead (an offset)


def bounds_for(groups) -> tuple[list, list]:
  pairs = [FIXED_BOUNDS if g == FIXED_GROUP else FACTOR_BOUNDS for g in groups]
  return [p[0] for p in pairs], [p[1] for p in pairs]


def fit_relative_l1(X, measured, bounds=None, iterations: int = 100, rtol: float = 1e-9,
                    atol: float = 1e-12) -> np.ndarray:
  """Coefficients c minimizing mean |X c - m| / m, by iteratively reweighted least squares from
  the least-squares start: numpy's `lstsq`, or scipy's `lsq_linear` within `bounds` (lower and
  upper lists)."""
  X, measured = np.asarray(X, float), np.asarray(measured, float)
  A, b = X / measured[:, None], np.ones(len(measured))

  def solve(A, b):
    if bounds is None:
      return np.linalg.lstsq(A, b, rcond=None)[0]
    from scipy.optimize import lsq_linear
    return lsq_linear(A, b, bounds=bounds).x
  coef = solve(A, b)
  for _ in range(iterations):
    w = 1.0 / np.sqrt(np.maximum(np.abs(A @ coef - b), 1e-6))
    new = solve(A * w[:, None], b * w)
    if np.allclose(new, coef, rtol=rtol, atol=atol):
      break
    coef = new
  return coef


def fit_calibration(raw, measured, iterations: int = 100) -> tuple[float, float]:
  """(scale, offset) minimizing the mean absolute relative error |offset + scale * raw - m| / m.

  Relative, because the goal is a small error in percent across fast and slow architectures
  (plain least squares lets the slowest samples decide); absolute, not squared, because that goal
  is a mean absolute error and one measurement disturbed by the machine should not pull the fit.
  Solved by iteratively reweighted least squares from the least-squares start.
  """
  raw = np.asarray(raw, float)
  coef = fit_relative_l1(np.stack([raw, np.ones(len(raw))], axis=1), measured,
                         iterations=iterations)
  return float(coef[0]), float(coef[1])


def fit_per_kind(X, measured, groups, iterations: int = 30) -> np.ndarray:
  """Factors in FACTOR_BOUNDS (the fixed group in FIXED_BOUNDS) minimizing the mean absolute
  relative error, like `fit_calibration` (one disturbed network should not pull the fit). A
  constant column (the fixed group) is the offset."""
  return fit_relative_l1(X, measured, bounds_for(groups), iterations, rtol=1e-7, atol=1e-9)


def fit(method: str, X, measured, groups) -> dict:
  raw = X.sum(axis=1)
  if method == "sum":
    return {"method": "sum"}
  if method == "global":
    scale, offset = fit_calibration(raw, measured)
    return {"method": "global", "scale": scale, "offset": offset}
  return {"method": method, "factors": fit_per_kind(X, measured, groups)}


def predict(correction: dict, X, groups) -> np.ndarray:
  raw = X.sum(axis=1)
  if correction["method"] == "sum":
    return raw
  if correction["method"] == "global":
    return correction["offset"] + correction["scale"] * raw
  factors = correction["factors"]
  if isinstance(factors, dict):
    factors = np.array([factors.get(g, 1.0) for g in groups])
  return X @ np.asarray(factors, float)


def leave_one_out(method: str, X, measured, groups) -> np.ndarray:
  out = np.empty(len(measured))
  for i in range(len(measured)):
    keep = np.arange(len(measured)) != i
    out[i] = predict(fit(method, X[keep], measured[keep], groups), X[i:i + 1], groups)[0]
  return out


def mae_pct(predicted, measured) -> float:
  predicted, measured = np.asarray(predicted, float), np.asarray(measured, float)
  return float(np.mean(np.abs(predicted - measured) / measured) * 100)


def select(designs: dict, measured, methods=METHODS) -> tuple[dict, dict]:
  """(the correction with the lowest leave-one-out error, fitted on all samples, as metadata;
  the held-out MAE % of every method). `designs`: method -> (X, groups) from `design`."""
  held = {m: mae_pct(leave_one_out(m, designs[m][0], measured, designs[m][1]), measured)
          for m in methods}
  best = min(methods, key=lambda m: (held[m], METHODS.index(m)))
  X, groups = designs[best]
  return to_metadata(fit(best, X, measured, groups), groups), held


def designs_for(table, archs, space) -> dict:
  """method -> (X, groups) for every method (sum and global use the per_kind columns' sum)."""
  fixed = fixed_keys_of(space)
  by_kind = design(table, archs, fixed, "per_kind")
  return {"sum": by_kind, "global": by_kind, "per_kind": by_kind,
          "per_kernel": design(table, archs, fixed, "per_kernel")}


def to_metadata(correction: dict, groups) -> dict:
  out = {k: v for k, v in correction.items() if k != "factors"}
  if "factors" in correction:
    out["factors"] = {g: round(float(f), 6) for g, f in zip(groups, correction["factors"])}
  return out


def op_factor(correction: dict | None, op: OpSpec) -> float:
  """The factor a per_kind correction gives `op` (1 for other methods, and for a group the fit
  never saw)."""
  if not correction or correction.get("method") not in GROUPED:
    return 1.0
  group = group_of(op, frozenset(correction.get("fixed_ops", ())), correction["method"])
  return float(correction.get("factors", {}).get(group, 1.0))
