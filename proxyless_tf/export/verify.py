"""After export: run each .tflite in LiteRT against Keras on fresh inputs and bound the difference."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from proxyless_tf import litert

# Float TFLite must match Keras to 1e-4 of the output scale (max |logit|); quantized models are
# judged by top-1 agreement with the float model instead of by element-wise error.
FLOAT_RELATIVE_TOLERANCE = 1e-4


@dataclasses.dataclass
class CheckResult:
  mode: str
  path: str
  size_bytes: int
  max_abs_diff: float
  relative_diff: float
  top1_agreement: float
  ok: bool
  problem: str = ""


def check(mode: str, path: str, reference: np.ndarray, inputs: np.ndarray,
          min_quantized_agreement: float = 0.0) -> CheckResult:
  """`reference`: Keras outputs on `inputs`. Float is held to the tolerance, others to agreement."""
  out = litert.run(litert.make_interpreter(model_path=path), inputs)
  diff = float(np.max(np.abs(out - reference)))
  scale = float(np.max(np.abs(reference))) or 1.0
  agreement = float(np.mean(np.argmax(out, -1) == np.argmax(reference, -1)))
  result = CheckResult(mode, path, os.path.getsize(path), diff, diff / scale, agreement, True)
  if not np.all(np.isfinite(out)):
    result.ok, result.problem = False, "non-finite outputs"
  elif mode == "float" and result.relative_diff > FLOAT_RELATIVE_TOLERANCE:
    result.ok = False
    result.problem = (f"float TFLite differs from Keras by {result.relative_diff:.2e} of the output "
                      f"scale (bound {FLOAT_RELATIVE_TOLERANCE:g})")
  elif mode != "float" and agreement < min_quantized_agreement:
    result.ok = False
    result.problem = (f"{mode} top-1 agreement {agreement:.1%} is below {min_quantized_agreement:.0%}")
  return result


def format_results(results: list[CheckResult]) -> str:
  header = f"{'file':<28} {'size':>10} {'max|diff|':>10} {'rel diff':>9} {'top-1 agree':>11}  status"
  lines = [header, "-" * len(header)]
  for r in results:
    status = "ok" if r.ok else f"FAIL: {r.problem}"
    lines.append(f"{os.path.basename(r.path):<28} {r.size_bytes / 1024:>8.1f}KB {r.max_abs_diff:>10.2e} "
                 f"{r.relative_diff:>9.2e} {r.top1_agreement:>10.1%}  {status}")
  return "\n".join(lines)
