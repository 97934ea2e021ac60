"""An estimated per-op latency model for a phone we cannot measure here.

cost(op) = MACs / rate + bytes moved / bandwidth + layers * overhead

fit to published end-to-end TFLite float latencies on the Pixel 1 (ProxylessNAS and MnasNet
papers). Three constants, three calibration networks: the fit reproduces them exactly when the
solution is non-negative, else it falls back to the best non-negative least-squares subset.
"""

from __future__ import annotations

import itertools

import numpy as np

from proxyless_tf.arch.presets import get_preset
from proxyless_tf.errors import UserError
from proxyless_tf.latency.ops import OpSpec, arch_ops

BYTES_PER_VALUE = 4  # float32 activations and weights

# (arch, published Pixel 1 float latency in ms)
PIXEL1_CALIBRATION = (
    ("mobilenet_v2", 75.0),
    ("mobilenet_v2_1.4", 143.0),
    ("proxyless_mobile", 78.0),
)
PIXEL1_REFERENCE_MS = 80.0


def calibration_arch(name: str):
  if name == "mobilenet_v2_1.4":
    return get_preset("mobilenet_v2").with_width(1.4)
  return get_preset(name)


def op_features(op: OpSpec) -> np.ndarray:
  """[MACs, bytes moved, layers] of one op of any family (other families': their
  `op_features`, which return values moved)."""
  from proxyless_tf.families import family_of_op_kind
  try:
    family = family_of_op_kind(op.kind)
  except KeyError:
    raise UserError(f"the phone estimate has no model of {op.kind} ops: measure a table on the "
                    "phone (python -m proxyless_tf.tools.build_latency_table --device=android "
                    "--space=SPACE --out=T.json) and pass it with --latency_table=T.json") from None
  macs, values, layers = family.op_features(op)
  return np.array([macs, values * BYTES_PER_VALUE, layers], dtype=np.float64)

def arch_features(config) -> np.ndarray:
  return sum(op_features(op) for op in arch_ops(config))


def fit_constants(calibration=PIXEL1_CALIBRATION) -> np.ndarray:
  """Non-negative [ms per MAC, ms per byte, ms per layer] fitting the calibration latencies."""
  X = np.stack([arch_features(calibration_arch(name)) for name, _ in calibration])
  y = np.array([ms for _, ms in calibration])
  best, best_err = None, np.inf
  for k in range(X.shape[1], 0, -1):
    for cols in itertools.combinations(range(X.shape[1]), k):
      coef, *_ = np.linalg.lstsq(X[:, cols], y, rcond=None)
      if np.any(coef < 0):
        continue
      full = np.zeros(X.shape[1])
      full[list(cols)] = coef
      err = float(np.sum((X @ full - y) ** 2))
      if err < best_err - 1e-9:
        best, best_err = full, err
    if best is not None and best_err < 1e-6:
      break
  return best


def op_latency(op: OpSpec, constants: np.ndarray) -> float:
  return float(op_features(op) @ constants)


def estimated_table(space, command: str = ""):
  """A LatencyTable of every op of `space` from the Pixel-1 estimate, marked as an estimate."""
  import time
  from proxyless_tf.latency.table_space import space_metadata
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.latency.table import LatencyTable, model_entry
  constants = fit_constants()
  entries = {op.key: model_entry(op_latency(op, constants)) for op in all_space_ops(space)}
  fit = {name: {"published_ms": ms,
                "estimated_ms": round(float(arch_features(calibration_arch(name)) @ constants), 3)}
         for name, ms in PIXEL1_CALIBRATION}
  metadata = {"device": "android: Pixel 1 class (ESTIMATED, not measured)",
              "cpu": "Snapdragon 821 class", "runtime": "TFLite float (published numbers)",
              "threads": 1, "delegate": "none", "precision": "float", "estimated": True,
              "model": "cost = MACs * ms_per_mac + bytes * ms_per_byte + layers * ms_per_layer",
              "constants": {"ms_per_mac": constants[0], "ms_per_byte": constants[1],
                            "ms_per_layer": constants[2]},
              "calibration_points": fit, "reference_latency_ms": PIXEL1_REFERENCE_MS,
              **space_metadata(space), "date": time.strftime("%Y-%m-%d"), "command": command}
  return LatencyTable(metadata, entries)
