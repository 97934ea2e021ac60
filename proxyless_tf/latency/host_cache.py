"""`--target=cpu` without a table: measure this machine once, cache per CPU model and threads."""

from __future__ import annotations

import os
import re

from proxyless_tf.benchmark.host import cpu_model
from proxyless_tf.latency.cost_model import CostModel


def cache_dir() -> str:
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "proxyless_tf", "latency")


def cache_path(space, precision: str, num_threads: int) -> str:
  cpu = re.sub(r"[^A-Za-z0-9]+", "_", cpu_model()).strip("_").lower() or "cpu"
  name = (f"{cpu}-t{num_threads}-{precision}-{space.name}-{space.input_size}x{space.input_channels}"
          f"-c{space.num_classes}.json")
  return os.path.join(cache_dir(), name)


class HostCachedCostModel(CostModel):
  """Becomes a TableCostModel once `prepare(space)` knows the task's exact shapes."""

  unit = "ms"

  def __init__(self, precision: str = "float", num_threads: int = 1, log=print):
    self.precision, self.num_threads, self.log = precision, num_threads, log
    self.name = "host table"
    self._table_model = None

  def prepare(self, space) -> None:
    from proxyless_tf.latency.builder import build_space_table, host_metadata
    from proxyless_tf.latency.measure import HostMeasurer
    from proxyless_tf.latency.table import TableCostModel
    path = cache_path(space, self.precision, self.num_threads)
    verb = "reusing" if os.path.exists(path) else "building"
    self.log(f"--target=cpu: {verb} the latency table of this CPU at {path} (once per CPU model, "
             "threads and space; later searches reuse it)")
    table = build_space_table(space, path, [HostMeasurer(self.num_threads)], self.precision,
                              host_metadata(self.num_threads, self.precision), log=self.log)
    self._table_model = TableCostModel(table)
    self.scale, self.offset, self.name = (self._table_model.scale, self._table_model.offset,
                                          self._table_model.name)

  def check_covers(self, ops) -> None:
    self._table_model.check_covers(ops)

  def op_cost(self, op) -> float:
    return self._table_model.op_cost(op)
