"""One writer per run directory: a second search or training into a directory that another
process is writing gets one line naming it; the lock of a killed run is taken over."""

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
