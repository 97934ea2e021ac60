"""The search under tf.distribute: MirroredStrategy over 2 logical CPUs, and 2 local workers of
MultiWorkerMirroredStrategy (TF_CONFIG on free ports of 127.0.0.1). Each run is a fresh process
(tests/distributed_worker.py): devices and clusters are fixed when TensorFlow starts."""

import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "distributed_worker.py")


def _run(*args, env=None, wait=True):
  cmd = [sys.executable, WORKER, *args]
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
  return _result(proc) if wait else proc


def _result(proc) -> dict:
  out, _ = proc.communicate(timeout=600)
  lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
  assert proc.returncode == 0 and lines, out[-3000:]
  return json.loads(lines[-1][len("RESULT "):])


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def _workers(out, dump, *extra):
  """Two worker processes of one cluster; returns their results."""
  ports = _free_ports(2)
  cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
  procs = [_run("search", "--strategy=multi_worker", f"--out={out}", f"--dump={dump}{i}.npz",
                *extra, wait=False,
                env={"TF_CONFIG": json.dumps({"cluster": cluster,
                                              "task": {"type": "worker", "index": i}})})
           for i in range(2)]
  return [_result(p) for p in procs]


def _load(path):
  with np.load(path) as f:
    return {k: f[k] for k in f.files}


@pytest.mark.slow
def test_mirrored_steps_equal_single_device_steps_on_the_global_batch():
  """Weight steps (warm-up and search), each arch mode and a REINFORCE update on 2 replicas give
  the weights and alpha of one device on the same global batch, BN seeing it half by half."""
  result = _run("equivalence")
  assert result["replicas"] == 2
  steps = result["steps"]
  assert set(steps) == {"warm-up weight step", "weight step", "full_v2", "rl", "two", "full"}
  for what, r in steps.items():
    assert r["variables"] > 50, what
    assert r["loss_diff"] < 1e-5, (what, r)
    assert r["weight_diff"] < 1e-5, (what, r)
    assert r["alpha_diff"] < 1e-6, (what, r)
  assert steps["full_v2"]["alpha_moved"] > 0.01  # the arch steps did move alpha


@pytest.mark.slow
def test_two_workers_agree_resume_and_equal_a_mirrored_run(tmp_path):
  """2 workers stop at step 4 (checkpointed), resume to the end (8 steps): both end with the same
  alpha and weights, equal to an uninterrupted MirroredStrategy run on 2 local devices; the
  workers' checkpoint then resumes on 1 device (a different replica count)."""
  run = tmp_path / "cluster"
  first = _workers(run, tmp_path / "stop", "--max_steps=4")
  assert [r["steps"] for r in first] == [4, 4] and [r["chief"] for r in first] == [True, False]
  assert [r["replicas"] for r in first] == [2, 2]
  assert not (run / ".worker1_scratch").exists()  # the non-chief's copy is deleted
  shutil.copytree(run, tmp_path / "copy")
  second = _workers(run, tmp_path / "end", "--resume")
  assert [r["steps"] for r in second] == [8, 8]
  w0, w1 = _load(tmp_path / "end0.npz"), _load(tmp_path / "end1.npz")
  assert set(w0) == set(w1) and any("alpha" in k for k in w0)
  for k in w0:
    np.testing.assert_array_equal(w0[k], w1[k], err_msg=k)

  mirrored = _run("search", "--strategy=mirrored", "--cpu_devices=2",
                  f"--out={tmp_path / 'mirrored'}", f"--dump={tmp_path / 'mirrored.npz'}")
  assert mirrored["replicas"] == 2 and mirrored["steps"] == 8
  m = _load(tmp_path / "mirrored.npz")
  for k in w0:
    np.testing.assert_allclose(w0[k], m[k], atol=2e-5, err_msg=k)
  alpha = [k for k in w0 if "alpha" in k]
  assert max(float(np.abs(w0[k]).max()) for k in alpha) > 0.01  # the arch steps moved alpha

  one = _run("search", f"--out={tmp_path / 'copy'}", f"--dump={tmp_path / 'one.npz'}", "--resume")
  assert one["replicas"] == 1 and one["steps"] == 8 and one["arch"]
