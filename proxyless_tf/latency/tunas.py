"""TuNAS's Pixel-1 latency model of the ProxylessNAS space, as one of our latency tables.

TuNAS (Bender, Liu et al., CVPR 2020; google-research/google-research `tunas/`) ships a linear
model of Pixel-1 inference time in milliseconds for its `proxylessnas_search` space
(`cost_model_data.py`: a kernel and a bias; `cost_model_lib.py`, `mobile_cost_model.py`: the
features). The features are one-hot per decision: the first block's kernel (3/5/7; a separable
conv there), then per searchable layer its (kernel x expansion) choice, kernel-major, plus one
for `zero` where the layer can be skipped. TuNAS's own test expects 84 +- 1 ms for its reference
architecture.

Our tables are additive over ops, so the model converts exactly: each decision's coefficients
become position-specific entries (`block:N/KEY`), shifted so that every entry is >= 0 (a skipped
block costs 0 here: the layer's `zero` coefficient moves into the constant; the cheapest choice of
a layer that cannot be skipped too), and the constant (TuNAS's bias, those shifts, and the first
block's k3 coefficient: our space fixes that block at k3) is stored on the stem's entry; head and
logits entries are 0. Sum over an arch's ops = TuNAS's estimate for it, up to float rounding.
"""

from __future__ import annotations

import ast
import base64

import numpy as np

from proxyless_tf.errors import UserError
from proxyless_tf.latency.ops import space_ops
from proxyless_tf.latency.table import LatencyTable, model_entry

SSD = "proxylessnas_search"
KERNEL_NAMES = ("k3_e3", "k3_e6", "k5_e3", "k5_e6", "k7_e3", "k7_e6")  # TuNAS's feature order
FIRST_BLOCK_KERNELS = (3, 5, 7)


def read_cost_model_data(path: str, ssd: str = SSD) -> tuple[np.ndarray, float]:
  """(kernel, bias) of one search space from TuNAS's `cost_model_data.py`, read as data (the
  file's literals are parsed, nothing in it is run)."""
  try:
    with open(path) as f:
      tree = ast.parse(f.read(), filename=path)
  except (OSError, SyntaxError, UnicodeDecodeError) as e:
    raise UserError(f"{path}: cannot read TuNAS's cost_model_data.py ({type(e).__name__})") from None
  literals = {}
  for node in tree.body:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 \
        and isinstance(node.targets[0], ast.Name):
      try:
        literals[node.targets[0].id] = ast.literal_eval(node.value)
      except ValueError:
        pass  # the dicts of names at the end are not literals; the bytes and dtype are
  prefix = f"_{ssd.upper()}"
  try:
    dtype = np.dtype(literals["SERIALIZATION_DTYPE"])
    kernel = np.frombuffer(base64.decodebytes(literals[f"{prefix}_KERNEL"]), dtype)
    bias = np.frombuffer(base64.decodebytes(literals[f"{prefix}_BIAS"]), dtype)
  except (KeyError, TypeError, ValueError) as e:
    raise UserError(f"{path}: no {ssd} cost model in it ({e})") from None
  return kernel.astype(np.float64), float(bias[0])


def split_coefficients(kernel: np.ndarray, space) -> tuple[np.ndarray, list[dict]]:
  """(first block's 3 coefficients, per mixed op {candidate name: coefficient}) of `space`,
  which must have TuNAS's layout: every mixed op k3/5/7 x e3/6, plus zero where it has one."""
  specs = space.mixed_ops()
  want = len(FIRST_BLOCK_KERNELS) + sum(6 + ("zero" in [c.name for c in s.candidates])
                                         for s in specs)
  if kernel.shape != (want,):
    raise UserError(f"TuNAS's {SSD} model has {kernel.size} features, space {space.name} needs "
                    f"{want}: not the same space (use --space=proxyless_tunas)")
  first, pos, layers = kernel[:3], 3, []
  for spec in specs:
    names = [c.name for c in spec.candidates]
    if sorted(n for n in names if n != "zero") != sorted(KERNEL_NAMES):
      raise UserError(f"space {space.name} mixed op {spec.index} has candidates {names}; TuNAS's "
                      f"model prices {list(KERNEL_NAMES)} (+ zero)")
    coefficients = dict(zip(KERNEL_NAMES, kernel[pos:pos + 6]))
    pos += 6
    if "zero" in names:
      coefficients["zero"] = kernel[pos]
      pos += 1
    layers.append(coefficients)
  return first, layers


def tunas_table(kernel: np.ndarray, bias: float, space, metadata: dict) -> LatencyTable:
  """The exact additive form of TuNAS's model for `space` (see the module docstring)."""
  first, layers = split_coefficients(kernel, space)
  fixed, candidates = space_ops(space)
  stem, first_block, head, logits = fixed
  constant = bias + float(first[FIRST_BLOCK_KERNELS.index(space.first_block().kernel_size)])
  entries = {}
  for spec, coefficients, ops in zip(space.mixed_ops(), layers, candidates):
    floor = coefficients.get("zero", min(coefficients.values()))
    constant += floor
    for candidate, op in zip(spec.candidates, ops):
      if op is not None:
        entries[op.position_key] = model_entry(coefficients[candidate.name] - floor)
  if constant < 0 or any(e["mean"] < 0 for e in entries.values()):
    raise UserError("TuNAS's model does not shift to non-negative entries for this space")
  entries[stem.key] = model_entry(constant)
  entries[first_block.position_key] = model_entry(0.0)
  entries[head.key] = model_entry(0.0)
  entries[logits.key] = model_entry(0.0)
  return LatencyTable(metadata, entries)

