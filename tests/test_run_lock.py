"""One writer per run directory or table file: a second search, training or table build into
what another process is writing gets one line naming it; the lock of a killed one is taken
over; a damaged cached table is measured again."""

import os
import signal
import subprocess
import sys

import pytest

from proxyless_tf.errors import UserError
from proxyless_tf.latency.cost_model import FlopsCostModel
from proxyless_tf.search.runner import SearchRun
from test_search import _config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOLD = ("import sys, time; from proxyless_tf.utils.run_lock import hold_directory; "
        "hold_directory(sys.argv[1], 'search'); print('held', flush=True); time.sleep(120)")


def test_a_second_writer_is_refused_and_a_dead_ones_lock_taken_over(tmp_path, synthetic_dataset):
  out = tmp_path / "run"
  holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "held"
    logs = []
    with pytest.raises(UserError, match=rf"being written by another search \(pid {holder.pid} on "):
      SearchRun(_config(out, max_steps=2), FlopsCostModel(), log=logs.append,
                dataset=synthetic_dataset).run()
    assert not (out / "checkpoints").exists()  # nothing written by the refused run
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  run = SearchRun(_config(out, max_steps=2), FlopsCostModel(), log=logs.append,
                  dataset=synthetic_dataset)
  result = run.run()
  assert os.path.exists(result.arch_path)
  assert any(f"taking over the lock of a search that is gone (pid {holder.pid}" in line
             for line in logs)
  again = SearchRun(_config(out, max_steps=3), FlopsCostModel(), log=logs.append,
                    dataset=synthetic_dataset)
  again.restore_or_start(resume=True)  # the same process may go on writing it
  assert int(again.step.numpy()) == 2


HOLD_FILE = ("import sys, time; from proxyless_tf.utils.run_lock import hold_file; "
             "hold_file(sys.argv[1], 'latency table build'); print('held', flush=True); "
             "time.sleep(120)")


def test_a_table_file_has_one_builder_and_the_host_cache_one_writer(tmp_path):
  """python -m proxyless_tf.tools.build_latency_table and the host cache lock `TABLE.lock`: a second builder is
  one line naming the first; once it is gone the file is free again."""
  from proxyless_tf.utils.run_lock import hold_file, holding_file
  table = str(tmp_path / "table.json")
  holder = subprocess.Popen([sys.executable, "-c", HOLD_FILE, table], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(UserError, match=rf"table.json is being written by another latency table "
                                        rf"build \(pid {holder.pid} on .*; wait for it"):
      hold_file(table)
    with pytest.raises(UserError, match="pass --latency_table=TABLE.json"):
      with holding_file(table, "latency table build", fix="or pass --latency_table=TABLE.json"):
        pass
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  logs = []
  with holding_file(table, "latency table build", log=logs.append):
    assert any(f"taking over the lock of a latency table build that is gone (pid {holder.pid}"
               in line for line in logs)
  assert (tmp_path / "table.json.lock").read_text() == ""  # released: no holder named


def test_a_damaged_cached_host_table_is_set_aside_and_measured_again(tmp_path, monkeypatch):
  import fake_measure
  from proxyless_tf.latency import host_cache
  from proxyless_tf.latency.builder import all_space_ops
  from proxyless_tf.space.space import get_space
  path = str(tmp_path / "cached.json")

  class FakeHostCache(host_cache.HostCachedCostModel):
    def _cache(self, space):
      return path, [fake_measure.fake_entry], {"device": "host: fake", "threads": 1}, "a table"

  space = get_space("tiny").with_task(16, 1, 10)
  (tmp_path / "cached.json").write_text('{"metadata": {"device": "host: fake"}, "entr')
  logs = []
  model = FakeHostCache(log=logs.append, check=False)
  model.prepare(space)
  assert any("cached.json is unreadable" in line and "set aside as cached.json.unreadable, it "
             "is measured again" in line for line in logs), logs
  assert any("building a table" in line for line in logs)
  assert len(model.table.entries) == len(all_space_ops(space))
  assert (tmp_path / "cached.json.unreadable").exists()
