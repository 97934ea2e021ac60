"""Which cost model a `--target` means: a latency table, the FLOPs stand-in, or none."""

from __future__ import annotations

import os

from proxyless_tf.errors import UserError
from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
from proxyless_tf.latency.cost_model import FlopsCostModel
from proxyless_tf.utils.files import PACKAGE_DIR


def cost_model_for_target(target: str, table: str | None = None, precision: str = "float",
                          num_threads: int = 1, max_depthwise_taps: int | None = XNNPACK_MAX_TAPS,
                          rebuild_table: bool = False, strict_identity: bool = False, log=print):
  """`log` gets the table's checked error and, for a host table measured on another machine, a
  warning (an error with `strict_identity`)."""
  if target == "none":
    return None
  if target == "flops":
    return FlopsCostModel()
  from proxyless_tf.latency.builder import checked_error_line
  from proxyless_tf.latency.identity import check_host_table
  from proxyless_tf.latency.table import TableCostModel, load_table
  if target == "cpu" and not table:
    from proxyless_tf.latency.host_cache import HostCachedCostModel
    return HostCachedCostModel(precision, num_threads, log=log,
                               max_depthwise_taps=max_depthwise_taps, rebuild=rebuild_table)
  if not table:
    how = ("python tools/build_latency_table.py --device=android --use_gpu --space=SPACE "
           "--out=TABLE.json" if target == "gpu" else
           "python tools/build_latency_table.py --device=android --space=SPACE --out=TABLE.json")
    raise UserError(f"--target={target} needs --latency_table; measure one on the phone with `{how}`")
  if not os.path.exists(table) and not os.path.isabs(table):
    # flag files name the shipped tables as tables/NAME.json: package data
    shipped = os.path.join(PACKAGE_DIR, table)
    table = shipped if os.path.exists(shipped) else table
  if not os.path.exists(table):
    raise UserError(f"--latency_table {table} does not exist")
  loaded = load_table(table)
  measured = loaded.metadata.get("precision")
  if measured is not None and measured != precision:
    raise UserError(f"--latency_table {table} measures {measured} models but --precision="
                    f"{precision}; pass --precision={measured} or a {precision} table")
  if target == "cpu":
    check_host_table(loaded, strict=strict_identity, log=log)
  derived = loaded.metadata.get("derived_from")
  if derived:
    log(f"latency table {os.path.basename(table)}: {loaded.metadata.get('device')}, from "
        f"{derived.get('repository')} ({', '.join(derived.get('files', [])[:1])})")
  elif not loaded.metadata.get("estimated"):
    log(checked_error_line(loaded))
  return TableCostModel(loaded)
