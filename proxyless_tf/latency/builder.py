"""A space's latency table: create or resume it, measure what is missing, save atomically."""

from __future__ import annotations

import os
import sys
import time

from proxyless_tf.benchmark.host import cpu_model
from proxyless_tf.errors import UserError
from proxyless_tf.latency.measure import build_table
from proxyless_tf.latency.ops import all_space_ops
from proxyless_tf.latency.table import LatencyTable, load_table

# Metadata that must match for a build to resume an existing file.
IDENTITY = ("device", "threads", "delegate", "precision")


_SPACE_FIELDS = ("input_size", "input_channels", "num_classes", "stem_filters",
                 "first_block_filters", "stage_widths", "head_filters")


def space_metadata(space) -> dict:
  return {"space": space.name, **{f: getattr(space, f) for f in _SPACE_FIELDS}}


def space_from_metadata(metadata: dict):
  """The exact space a table was built for (preset + the shapes it was measured at)."""
  import dataclasses
  from proxyless_tf.space.space import get_space
  if "space" not in metadata:
    raise UserError("this latency table does not say which search space it covers "
                    "(metadata 'space'); pass --space")
  changes = {f: metadata[f] for f in _SPACE_FIELDS if f in metadata}
  if "stage_widths" in changes:
    changes["stage_widths"] = tuple(changes["stage_widths"])
  return dataclasses.replace(get_space(metadata["space"]), **changes)


def host_metadata(num_threads: int, precision: str) -> dict:
  from proxyless_tf import litert
  return {"device": f"host: {cpu_model()}", "cpu": cpu_model(), "runtime": litert.runtime_version(),
          "threads": num_threads, "delegate": "xnnpack (default)", "precision": precision,
          "estimated": False}


def build_space_table(space, out: str, measurers, precision: str, metadata: dict,
                      log=print, rounds: int | None = None) -> LatencyTable:
  if os.path.exists(out):
    table = load_table(out)
    clash = [k for k in IDENTITY if k in table.metadata and table.metadata.get(k) != metadata.get(k)]
    if clash:
      raise UserError(f"{out} was measured with different {', '.join(clash)} "
                      f"({', '.join(f'{k}={table.metadata.get(k)!r}' for k in clash)}); "
                      "choose another --out")
  else:
    table = LatencyTable({}, {}, out)
  table.metadata.update(metadata)
  table.metadata.update(space_metadata(space))
  table.metadata["date"] = time.strftime("%Y-%m-%d")
  table.metadata.setdefault("command", " ".join(sys.argv))
  start = time.monotonic()
  rounds = rounds or getattr(measurers[0], "default_rounds", 1)
  table.metadata["rounds"] = rounds
  build_table(table, all_space_ops(space), measurers, precision, rounds=rounds, log=log)
  elapsed = time.monotonic() - start  # summed over resumed builds
  table.metadata["build_seconds"] = round(table.metadata.get("build_seconds", 0.0) + elapsed, 1)
  table.save()
  return table

