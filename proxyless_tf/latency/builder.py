"""A space's latency table: create or resume it, measure what is missing, save atomically."""

from __future__ import annotations

import os
import time

import numpy as np

from proxyless_tf.benchmark.host import cpu_model
from proxyless_tf.errors import UserError
from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
from proxyless_tf.latency.diagnosis import describe
from proxyless_tf.latency.identity import fingerprint, host_identity
from proxyless_tf.latency.measure import build_table
from proxyless_tf.latency.ops import all_space_ops
from proxyless_tf.latency.table import LatencyTable, load_table
from proxyless_tf.latency.table_space import space_metadata
from proxyless_tf.utils.cli import command_line

# Metadata that must match for a build to resume an existing file.
IDENTITY = ("device", "threads", "delegate", "precision", "depthwise_max_taps", "batch_size")


def host_metadata(num_threads: int, precision: str,
                  max_depthwise_taps: int | None = XNNPACK_MAX_TAPS) -> dict:
  from proxyless_tf import litert
  identity = host_identity()
  return {"device": f"host: {cpu_model()}", "cpu": cpu_model(), "runtime": litert.runtime_version(),
          "threads": num_threads, "delegate": "xnnpack (default)", "precision": precision,
          "depthwise_max_taps": max_depthwise_taps, "identity": identity,
          "fingerprint": fingerprint(identity), "estimated": False, "target": "cpu"}


def self_check(table: LatencyTable, samples: int, rounds: int = 3, seed: int = 1000,
               log=print) -> dict:
  """Measures `samples` random architectures of the table's space end to end on its device (each
  after the canary), fits the correction that predicts them best held out (stored in the table)
  and records what the check saw: the plain sum's error, the kept correction's held-out error,
  and noise / drift / bias told apart (`diagnosis.py`). What a user of the table later reads as
  its checked error."""
  from proxyless_tf.latency.validate import measurer_for, validate_table
  log(f"self-check: {samples} random architectures measured end to end ({rounds} rounds)")
  report = validate_table(table, samples, rounds, seed, fit=True,
                          measure=measurer_for(table.metadata), log=lambda *_: None)
  d = report["diagnosis"]
  plain = report["raw_canary"] or report["raw"]
  check = {"samples": samples, "rounds": rounds, "seed": seed,
           "raw_mae_pct": round(plain["mae_pct"], 3),
           "method": (table.correction or {}).get("method", "sum"),
           "calibrated_loo_mae_pct": round(report.get("loo_fit", plain)["mae_pct"], 3),
           "noise_pct": round(d["noise_pct"], 3) if np.isfinite(d["noise_pct"]) else None,
           "bias_pct": round(d["bias_pct"], 3), "drift_pct": (None if d["drift_pct"] is None
                                                             else round(d["drift_pct"], 3)),
           "busy": d["busy"], "biased": d["biased"], "drifting": d["drifting"],
           "date": time.strftime("%Y-%m-%d %H:%M")}
  table.metadata["self_check"] = check
  table.save()
  log(describe(d))
  log(checked_error_line(table))
  return check


def checked_error_line(table: LatencyTable) -> str:
  """One line: how well the table predicted whole networks when it was checked."""
  from proxyless_tf.latency.canary import NO_CANARY
  check = table.metadata.get("self_check")
  fitted = table.metadata.get("calibration") or {}
  name = os.path.basename(table.path or "?")
  lacks = "" if table.metadata.get("canary") else f" NOTE: {NO_CANARY}"
  correction = table.metadata.get("correction") or {}
  if not check and correction.get("held_out_mae_pct"):  # fitted by `validate --fit` instead
    method = correction.get("method", "sum")
    held = correction["held_out_mae_pct"]
    held = held if isinstance(held, dict) else {}

    def pct(value):
      return f"{value:.1f}%" if isinstance(value, (int, float)) else "?"
    return (f"latency table {name}: checked on {correction.get('fit_samples')} random networks "
            f"on {correction.get('date')}: sum of ops {pct(held.get('sum'))} mean abs error, "
            f"corrected ({method}) {pct(held.get(method))} (held out)" + lacks)
  if not check and "loo_mae_pct" in fitted:  # validated with `validate --fit` instead
    return (f"latency table {name}: calibrated on {fitted.get('fit_samples')} random networks "
            f"on {fitted.get('date')}: {fitted['loo_mae_pct']:.1f}% mean abs error (held out)"
            + lacks)
  if not check:
    return (f"latency table {table.path}: never checked against whole networks (check it with "
            f"`python -m proxyless_tf.latency validate --table={table.path} --fit`)" + lacks)
  method = check.get("method") or ("global" if "calibration" in table.metadata else "sum")
  kept = {"sum": "no correction helped", "global": "global offset + scale",
          "per_kind": "per op kind and resolution",
          "per_kernel": "per op kind, kernel and resolution"}.get(method, method)
  line = (f"latency table {name}: checked on {check['samples']} random networks on "
          f"{check['date']}: sum of ops {check['raw_mae_pct']:.1f}% mean abs error, corrected "
          f"({kept}) {check['calibrated_loo_mae_pct']:.1f}% (held out)")
  if check.get("busy"):
    line += " - the machine was busy while checking; these errors are noise, nothing was fitted"
  elif check.get("biased"):
    line += f"; the sum of ops was biased {check['bias_pct']:+.1f}% (ops priced in context fix it)"
  return line + lacks


def build_space_table(space, out: str, measurers, precision: str, metadata: dict,
                      log=print, rounds: int | None = None,
                      self_check_samples: int = 0, canary=True) -> LatencyTable:
  """`canary`: True for the default canary op (`canary.py`), an OpSpec, or None for none (the
  entries are then absolute medians, as in tables from before canaries)."""
  from proxyless_tf.latency.canary import canary_op
  if canary is True:
    canary = canary_op()
  if os.path.exists(out):
    table = load_table(out, log=log)
    # a table from before the XNNPACK rewrite records no depthwise_max_taps: its ops were whole
    clash = [k for k in IDENTITY if (k in table.metadata or k == "depthwise_max_taps")
             and table.metadata.get(k) != metadata.get(k)]
    if clash:
      raise UserError(f"{out} was measured with different {', '.join(clash)} "
                      f"({', '.join(f'{k}={table.metadata.get(k)!r}' for k in clash)}); "
                      "choose another --out")
  else:
    table = LatencyTable({}, {}, out)
  table.metadata.update(metadata)
  table.metadata.update(space_metadata(space))
  table.metadata["date"] = time.strftime("%Y-%m-%d")
  table.metadata.setdefault("command", command_line())
  start = time.monotonic()
  rounds = rounds or getattr(measurers[0], "default_rounds", 1)
  table.metadata["rounds"] = rounds
  build_table(table, all_space_ops(space), measurers, precision, rounds=rounds, log=log,
              canary=canary)
  elapsed = time.monotonic() - start  # summed over resumed builds
  table.metadata["build_seconds"] = round(table.metadata.get("build_seconds", 0.0) + elapsed, 1)
  table.save()
  if self_check_samples and "self_check" not in table.metadata:
    self_check(table, self_check_samples, log=log)
  return table

