"""A net measured next to the space's reference net and the canary: did it land on the request?

A latency in ms measured now mixes the net with the machine's state now; the same net timed in
the same rounds as the reference net (k3 e6 everywhere) gives a ratio that drift cancels from,
and timed right after the table's canary it gives ms at the table's speed (now / speed factor).
The search's end (a host table's target), specialize's report and `python -m proxyless_tf.benchmark
--reference` print requested / predicted / measured both ways.
"""

from __future__ import annotations

import numpy as np

RATIO_TOLERANCE_PCT = 3.0  # the request as a ratio to the reference net, measured side by side
MS_TOLERANCE_PCT = 5.0  # the request in ms, measured and divided by the speed factor


def is_host_table(table) -> bool:
  """Whether `table` was measured on a host's LiteRT (this side-by-side times on this host)."""
  return str(table.metadata.get("device", "")).startswith("host")


def host_table_of(cost_model):
  """The cost model's table when it was measured on this host's LiteRT, else None."""
  table = getattr(cost_model, "table", None)
  return table if table is not None and is_host_table(table) else None


def time_pair(net: bytes, reference: bytes, canary: bytes, rounds: int = 5,
              runs: int = 50, num_threads: int = 1, measure=None) -> dict:
  """The two models (and the canary before each) in `rounds` interleaved rounds on this host."""
  from proxyless_tf.latency.canary import time_rounds
  if measure is None:
    from proxyless_tf.benchmark.host import benchmark_host

    def measure(content):
      return benchmark_host(model_content=content, num_threads=num_threads, warmup=10,
                            runs=runs).summary["median_ms"]
  times, canaries = time_rounds(measure, [net, reference], canary, rounds)
  return {"times": times, "canaries": canaries}


def compare(timed: dict, table=None, predicted: float | None = None,
            predicted_reference: float | None = None, request: dict | None = None) -> dict:
  """Requested / predicted / measured, in ms and as a ratio to the reference net."""
  from proxyless_tf.latency.canary import speed_factor, table_canary_ms
  times, canaries = timed["times"], timed["canaries"]
  out = {"measured_ms": float(np.median(times[:, 0])),
         "reference_ms": float(np.median(times[:, 1])),
         "measured_ratio": float(np.median(times[:, 0] / times[:, 1])),
         "rounds": int(times.shape[0]), "speed_factor": None, "measured_at_build_ms": None}
  then = None if table is None else table_canary_ms(table)
  if then:
    out["speed_factor"] = speed_factor(canaries.ravel(), table)
    out["measured_at_build_ms"] = float(np.median(times[:, 0] / canaries[:, 0]) * then)
  if predicted is not None:
    out["predicted_ms"] = float(predicted)
  if predicted is not None and predicted_reference:
    out["predicted_ratio"] = float(predicted / predicted_reference)
  if request:
    out["requested_ms"] = float(request["target"])
    out["requested_ratio"] = (float(request["ratio"]) if request.get("ratio") is not None else
                              float(request["target"] / request["reference"]))
    out["ratio_error_pct"] = (out["measured_ratio"] / out["requested_ratio"] - 1) * 100
    at_build = out["measured_at_build_ms"]
    out["ms_error_pct"] = None if at_build is None else (at_build / out["requested_ms"] - 1) * 100
  return out


def describe(result: dict, what: str = "the net") -> str:
  """A few lines: requested / predicted / measured in ms and as a ratio, and the verdict."""
  def cell(key, fmt):
    value = result.get(key)
    return f"{value:{fmt}}" if value is not None else "-"
  now = f"{result['measured_ms']:.4f} now"
  if result["measured_at_build_ms"] is not None:
    now += (f", {result['measured_at_build_ms']:.4f} at the table's speed (speed factor "
            f"{result['speed_factor']:.3f})")
  lines = [f"{what} measured on this host next to the reference net ({result['rounds']} "
           f"interleaved rounds, each model after the canary; reference "
           f"{result['reference_ms']:.4f} ms now):",
           f"  {'':<14}{'requested':>11}{'predicted':>11}  measured",
           f"  {'ms':<14}{cell('requested_ms', '11.4f')}{cell('predicted_ms', '11.4f')}  {now}",
           f"  {'x reference':<14}{cell('requested_ratio', '11.3f')}"
           f"{cell('predicted_ratio', '11.3f')}  {result['measured_ratio']:.3f}"]
  if "ratio_error_pct" in result:
    r = result["ratio_error_pct"]
    verdict = (f"  measured vs requested: ratio {r:+.1f}% "
               f"({'within' if abs(r) <= RATIO_TOLERANCE_PCT else 'OUTSIDE'} "
               f"+-{RATIO_TOLERANCE_PCT:g}%)")
    if result.get("ms_error_pct") is not None:
      m = result["ms_error_pct"]
      verdict += (f", ms at the table's speed {m:+.1f}% "
                  f"({'within' if abs(m) <= MS_TOLERANCE_PCT else 'OUTSIDE'} "
                  f"+-{MS_TOLERANCE_PCT:g}%)")
    lines.append(verdict)
  return "\n".join(lines)


def verify_on_host(arch, reference, cost_model, request=None, rounds: int = 5, runs: int = 50,
                   log=print) -> dict | None:
  """The derived net and the reference net exported as the table's ops were and timed side by
  side; None (nothing measured) when the cost model is not a table of this host."""
  from proxyless_tf.latency.canary import canary_tflite
  from proxyless_tf.latency.validate import arch_tflite
  table = host_table_of(cost_model)
  if table is None:
    return None
  precision = table.metadata.get("precision", "float")
  taps = table.metadata.get("depthwise_max_taps")
  threads = int(table.metadata.get("threads", 1))
  log(f"timing the derived net next to the reference net ({reference.name}) on this host")
  timed = time_pair(arch_tflite(arch, precision, max_depthwise_taps=taps),
                    arch_tflite(reference, precision, max_depthwise_taps=taps),
                    canary_tflite(table),
                    rounds, runs, threads)
  result = compare(timed, table, cost_model.predict(arch), cost_model.predict(reference), request)
  log(describe(result, "the derived net"))
  return result
