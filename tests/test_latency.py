"""Latency tables: format, errors, resumable and android builds, predictor vs expected latency,
the estimated phone table."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import fake_adb
from proxyless_tf.errors import UserError
from proxyless_tf.latency.builder import build_space_table
from proxyless_tf.latency.table_space import space_from_metadata, space_metadata
from proxyless_tf.latency.cost_model import ExpectedCost
from proxyless_tf.latency.estimate import (PIXEL1_CALIBRATION, arch_features, calibration_arch,
                                           fit_constants)
from proxyless_tf.latency.measure import AndroidMeasurer, HostMeasurer
from proxyless_tf.latency.ops import all_space_ops, arch_ops
from proxyless_tf.latency.table import LatencyTable, TableCostModel, load_table
from proxyless_tf.space.space import get_space

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _fake_table(space, path=None, scale=1.0, offset=0.0):
  """Deterministic entries: latency grows with the op's MACs, so sums are checkable."""
  entries = {op.key: {"mean": 0.01 + op.macs / 1e6, "median": 0.01 + op.macs / 1e6, "std": 0.0,
                      "count": 5} for op in all_space_ops(space)}
  meta = {"device": "host: test", "space": space.name, "threads": 1, "precision": "float",
          "calibration": {"scale": scale, "offset": offset}}
  return LatencyTable(meta, entries, path)


def test_op_keys_follow_the_original_format():
  keys = {op.key for op in all_space_ops(get_space("proxyless"))}
  assert "Conv-input:224x224x3-output:112x112x32" in keys
  assert "expanded_conv-input:112x112x32-output:112x112x16-expand:1-kernel:3-stride:1-idskip:0" in keys
  assert "expanded_conv-input:56x56x24-output:28x28x40-expand:6-kernel:5-stride:2-idskip:0" in keys
  assert "expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:7-stride:1-idskip:1" in keys
  assert "Conv_1-input:7x7x320-output:7x7x1280" in keys
  assert "Logits-input:7x7x1280-output:1000" in keys


def test_table_round_trip_and_space_metadata(tmp_path):
  space = get_space("tiny")
  table = _fake_table(space, str(tmp_path / "t.json"))
  table.metadata.update({"input_size": 16, "stage_widths": [16, 24]})
  table.save()
  again = load_table(table.path)
  assert again.entries == table.entries and again.metadata == table.metadata
  assert space_from_metadata(again.metadata) == space


def test_missing_keys_and_corrupt_tables_are_clear_errors(tmp_path):
  space = get_space("tiny")
  table = _fake_table(space, str(tmp_path / "t.json"))
  dropped = sorted(table.entries)[:2]
  for key in dropped:
    del table.entries[key]
  with pytest.raises(UserError, match="lacks 2 op") as err:
    ExpectedCost(TableCostModel(table), space)
  assert dropped[0] in str(err.value)
  bad = tmp_path / "bad.json"
  bad.write_text('{"entries": {"Conv-x": {"mean": "fast"}}}')
  with pytest.raises(UserError, match="'mean' must be a finite number >= 0"):
    load_table(str(bad))
  bad.write_text('{"entries": ')
  with pytest.raises(UserError, match="not valid JSON"):
    load_table(str(bad))
  with pytest.raises(UserError, match="does not exist"):
    load_table(str(tmp_path / "none.json"))


@pytest.mark.parametrize("text, message", [
    ('{"entries": {"K": {"mean": 1, "median": "fast"}}}', "'median' must be a finite number"),
    ('{"entries": {"K": {"mean": 1, "median": -5}}}', "'median' must be a finite number"),
    ('{"entries": {"K": {"mean": 1, "median": NaN}}}', "NaN is not a JSON number"),
    ('{"entries": {"K": {"mean": 1, "count": 2.5}}}', "'count' must be a whole number"),
    ('{"entries": {"K": {"mean": 1e400}}}', "'mean' must be a finite number"),
    ('{"metadata": {"calibration": {"scale": "abc"}}, "entries": {"K": {"mean": 1}}}',
     "calibration 'scale' must be a finite number > 0"),
    ('{"metadata": {"calibration": {"scale": -1}}, "entries": {"K": {"mean": 1}}}',
     "calibration 'scale' must be a finite number > 0"),
    ('{"metadata": [], "entries": {"K": {"mean": 1}}}', "'metadata' must be an object"),
    ('{"metadata": {"precision": "fp16"}, "entries": {"K": {"mean": 1}}}', "'precision' must be"),
])
def test_bad_table_values_are_refused_on_load(tmp_path, text, message):
  path = tmp_path / "t.json"
  path.write_text(text)
  with pytest.raises(UserError) as err:
    load_table(str(path))
  assert message in str(err.value) and "\n" not in str(err.value)


def test_bad_yaml_tables_and_wrong_precision_are_refused(tmp_path):
  path = tmp_path / "t.yaml"
  path.write_text("K: {count: many, mean: 1.0, var: 0.0}\n")
  with pytest.raises(UserError, match="'count' must be a whole number"):
    load_table(str(path))
  path.write_bytes(b"K: {mean: \xff}\n")
  with pytest.raises(UserError, match="not UTF-8"):
    load_table(str(path))
  from proxyless_tf.latency.targets import cost_model_for_target
  int8 = tmp_path / "int8.json"
  int8.write_text('{"metadata": {"precision": "int8"}, "entries": {"K": {"mean": 1}}}')
  with pytest.raises(UserError, match="measures int8 models but --precision=float"):
    cost_model_for_target("mobile", str(int8), precision="float", log=lambda *_: None)


def test_reads_original_yaml_tables(tmp_path):
  path = tmp_path / "mobile_trim.yaml"
  path.write_text("Conv-input:224x224x3-output:112x112x32: {count: 50, mean: 1.25, var: 0.04}\n"
                  "Logits-input:7x7x1280-output:1000: {count: 50, mean: 0.5, var: 0.0}\n")
  table = load_table(str(path))
  assert table.latency("Conv-input:224x224x3-output:112x112x32") == 1.25
  assert table.entries["Conv-input:224x224x3-output:112x112x32"]["std"] == pytest.approx(0.2)


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (0.8, 0.3)])
def test_predictor_equals_expected_latency_on_one_hot(scale, offset):
  space = get_space("small")
  model = TableCostModel(_fake_table(space, "t.json", scale, offset))
  expected = ExpectedCost(model, space)
  rng = np.random.default_rng(0)
  for _ in range(3):
    choices = [int(rng.integers(len(s.candidates))) for s in space.mixed_ops()]
    arch = space.derive(choices)
    one_hot = [tf.constant(np.where(np.arange(len(s.candidates)) == c, 60.0, -60.0), tf.float32)
               for s, c in zip(space.mixed_ops(), choices)]
    raw = sum(0.01 + op.macs / 1e6 for op in arch_ops(arch))
    assert model.predict(arch) == pytest.approx(offset + scale * raw, rel=1e-9)
    assert float(expected(one_hot)) == pytest.approx(model.predict(arch), rel=1e-5)


class _Interrupting:
  def __init__(self, inner, stop_after):
    self.inner, self.stop_after, self.calls = inner, stop_after, []

  def __call__(self, op, precision):
    if len(self.calls) == self.stop_after:
      raise KeyboardInterrupt
    self.calls.append(op.key)
    return self.inner(op, precision)


def test_build_is_resumable_after_an_interrupt(tmp_path):
  space = get_space("tiny")
  out = str(tmp_path / "host.json")
  host = HostMeasurer(num_threads=1, warmup=1, runs=3)
  first = _Interrupting(host, stop_after=4)
  with pytest.raises(KeyboardInterrupt):
    build_space_table(space, out, [first], "float", {"device": "host: test", "threads": 1},
                      log=lambda *_: None)
  from proxyless_tf.latency.canary import canary_op
  ops_of = lambda calls: {k for k in calls if k != canary_op().key}  # noqa: E731  (each op after the canary)
  assert first.calls[0] == canary_op().key
  done = {k for k in ops_of(first.calls) if first.calls.count(k) and k in load_table(out).entries}
  assert set(load_table(out).entries) == done and len(done) >= 1  # nothing measured was lost
  second = _Interrupting(host, stop_after=10 ** 6)
  table = build_space_table(space, out, [second], "float", {"device": "host: test", "threads": 1},
                            log=lambda *_: None)
  all_keys = {op.key for op in all_space_ops(space)}
  assert set(table.entries) == all_keys
  assert ops_of(second.calls) == all_keys - done  # only the rest was measured
  assert all(e["ratio"] > 0 for e in table.entries.values())
  assert all(e["median"] > 0 and e["count"] == 3 for e in table.entries.values())
  with pytest.raises(UserError, match="different threads"):
    build_space_table(space, out, [host], "float", {"device": "host: test", "threads": 2})


def test_android_build_over_two_phones_with_fake_adb(tmp_path, monkeypatch):
  adb_dir = str(tmp_path / "adb")
  monkeypatch.setenv("PATH", adb_dir + os.pathsep + os.environ["PATH"])
  fake_adb.install(adb_dir, os.path.join(HERE, "data", "benchmark_model_cpu.txt"),
                   devices=("PHONE_A", "PHONE_B"))
  measurers = [AndroidMeasurer(s, num_threads=4, warmup=2, runs=7) for s in ("PHONE_A", "PHONE_B")]
  space = get_space("tiny")
  table = build_space_table(space, str(tmp_path / "android.json"), measurers, "float",
                            {"device": "android: Pixel", "threads": 4}, log=lambda *_: None)
  assert len(table.entries) == len(all_space_ops(space))
  assert all(e["mean"] == pytest.approx(14.5752) and e["count"] == 69
             for e in table.entries.values())
  runs = [c for c in fake_adb.calls(adb_dir) if len(c) == 4 and "--graph=" in c[3]]
  assert len(runs) == 2 * len(table.entries)  # each op model right after the canary's
  assert table.metadata["canary"]["median_ms"] == pytest.approx(14.5752)
  assert all(e["ratio"] == pytest.approx(1.0) for e in table.entries.values())
  assert {c[1] for c in runs} == {"PHONE_A", "PHONE_B"}  # the work was spread
  one = build_space_table(space, str(tmp_path / "one_phone.json"),
                          [AndroidMeasurer("PHONE_A", num_threads=4, warmup=2, runs=7)], "float",
                          {"device": "android: Pixel", "threads": 4}, log=lambda *_: None)
  assert one.entries == table.entries  # the same table as a one-phone build
  # by default a phone table measures what an app gets: XNNPACK on the CPU
  assert all("--num_threads=4 --num_runs=7 --warmup_runs=2 --use_xnnpack=true" in c[3] for c in runs)


def test_android_identity_records_phone_soc_os_and_binary(tmp_path, monkeypatch):
  from proxyless_tf.benchmark.android import Adb
  from proxyless_tf.latency.identity import android_identity, differences, fingerprint
  adb_dir = str(tmp_path / "adb")
  monkeypatch.setenv("PATH", adb_dir + os.pathsep + os.environ["PATH"])
  fake_adb.install(adb_dir, os.path.join(HERE, "data", "benchmark_model_cpu.txt"),
                   props={"ro.product.model": "Pixel", "ro.soc.model": "MSM8996",
                          "ro.build.version.release": "10", "ro.product.cpu.abi": "arm64-v8a"})
  ident = android_identity(Adb())
  assert ident == {"model": "Pixel", "soc": "MSM8996", "android": "10", "abi": "arm64-v8a",
                   "benchmark_model": "0123456789abcdef0123456789abcdef"}
  updated = {**ident, "android": "11"}
  assert differences(ident, updated) == ["android: '10' -> '11'"]
  assert fingerprint(ident) != fingerprint(updated)


CPUINFO_X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse4_1 avx f16c fma avx2 avx512f avx512bw avx512_vnni

processor\t: 1
vendor_id\t: AuthenticAMD
"""
CPUINFO_ARM = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd asimddp i8mm fphp asimdhp
CPU implementer\t: 0x41
CPU part\t: 0xd0c
CPU variant\t: 0x3
"""


def test_host_identity_reads_what_decides_speed(tmp_path):
  from proxyless_tf.latency.identity import fingerprint, host_identity
  x86, arm = tmp_path / "x86", tmp_path / "arm"
  x86.write_text(CPUINFO_X86)
  arm.write_text(CPUINFO_ARM)
  ident = host_identity(str(x86))
  assert (ident["vendor"], ident["family"], ident["model"], ident["stepping"]) == \
      ("AuthenticAMD", "25", "17", "1")
  assert ident["isa"] == ["avx", "avx2", "avx512_vnni", "avx512bw", "avx512f", "f16c", "fma",
                          "sse4_1"]
  arm_ident = host_identity(str(arm))
  assert (arm_ident["implementer"], arm_ident["part"]) == ("0x41", "0xd0c")
  assert arm_ident["isa"] == ["asimd", "asimddp", "asimdhp", "fphp", "i8mm"]
  # the marketing name is a label, not identity; the stepping is identity
  assert fingerprint({**ident, "name": "other"}) == fingerprint(ident)
  assert fingerprint({**ident, "stepping": "2"}) != fingerprint(ident)


def test_a_host_table_from_another_machine_is_flagged(tmp_path):
  from proxyless_tf.latency.builder import host_metadata
  from proxyless_tf.latency.targets import cost_model_for_target
  meta = host_metadata(1, "float")
  table = LatencyTable({**meta, **space_metadata(get_space("tiny"))}, {}, str(tmp_path / "t.json"))
  table.save()
  logs = []
  cost_model_for_target("cpu", table=table.path, log=logs.append)
  assert not any("WARNING" in line for line in logs)  # measured here: no warning
  assert any("never checked against whole networks" in line for line in logs)
  table.metadata["calibration"] = {"scale": 1.0, "offset": 0.1, "fit_samples": 30,
                                   "loo_mae_pct": 0.42, "date": "2026-11-26"}
  table.save()
  logs = []
  cost_model_for_target("cpu", table=table.path, log=logs.append)
  assert any("calibrated on 30 random networks on 2026-11-26: 0.4% mean abs error (held out)"
             in line for line in logs)
  del table.metadata["calibration"]
  foreign_model = "1" if meta["identity"].get("model") != "1" else "2"  # never this host's
  table.metadata["identity"] = {**meta["identity"], "model": foreign_model, "isa": ["avx2"]}
  table.save()
  logs = []
  cost_model_for_target("cpu", table=table.path, log=logs.append)
  warning = [line for line in logs if line.startswith("WARNING")]
  assert len(warning) == 1 and "was not measured on this machine" in warning[0]
  assert f"model: '{foreign_model}' -> " in warning[0]
  with pytest.raises(UserError, match="was not measured on this machine"):
    cost_model_for_target("cpu", table=table.path, strict_identity=True, log=logs.append)
  del table.metadata["identity"]
  table.save()
  logs = []
  cost_model_for_target("cpu", table=table.path, log=logs.append)
  assert any("records no device identity" in line for line in logs)


def test_estimated_table_reproduces_its_calibration_points():
  constants = fit_constants()
  assert np.all(constants >= 0)
  for name, published in PIXEL1_CALIBRATION:
    estimate = float(arch_features(calibration_arch(name)) @ constants)
    assert estimate == pytest.approx(published, rel=0.015)


def test_phone_estimate_prices_tree_ops_by_what_they_compute():
  """A tree search with --target=mobile and no table is priced from the tree ops' own work (an
  identity edge is a copy, a pool has no weights), not as MBConvs; an op kind the estimate has
  no model of is refused with a line, never priced as something else."""
  import dataclasses
  from proxyless_tf.latency.estimate import estimated_table, op_features
  from proxyless_tf.families.pyramid_tree.ops import edge_op
  space = get_space("small_tree")
  table = estimated_table(space)
  assert {op.key for op in all_space_ops(space)} == set(table.entries)
  edges = {name: edge_op(16, 16, 16, name, 1) for name in ("identity", "max_3x3", "sep_3x3",
                                                           "sep_5x5", "conv_3x3")}
  features = {name: op_features(op) for name, op in edges.items()}
  assert features["identity"][0] == 0 < features["max_3x3"][0]  # a copy; a window per output
  assert features["identity"][1] == 2 * 16 * 16 * 16 * 4  # read and write, float32
  constants = fit_constants()
  cost = {name: float(f @ constants) for name, f in features.items()}
  assert cost["identity"] < cost["max_3x3"] < cost["sep_3x3"] < cost["sep_5x5"] < cost["conv_3x3"]
  with pytest.raises(UserError, match="no model of"):
    op_features(dataclasses.replace(edges["identity"], kind="mystery_op"))


def test_shipped_mobile_table_is_marked_estimated_and_covers_the_space():
  table = load_table(os.path.join(ROOT, "tables", "pixel1_estimated_proxyless_224.json"))
  model = TableCostModel(table)
  assert table.metadata["estimated"] is True and "ESTIMATE" in model.notice
  assert "proxyless_tf.tools.build_latency_table --device=android" in model.notice
  space = space_from_metadata(table.metadata)
  ExpectedCost(model, space)  # covers every op of the space
  largest = model.predict(space.largest_arch())
  smallest = model.predict(space.derive([0] * len(space.mixed_ops())))
  assert 40 < smallest < largest < 300  # phone-scale milliseconds at 224x224


def test_calibration_fit_and_metrics():
  from proxyless_tf.latency.validate import fit_calibration, metrics, spearman
  raw = np.array([1.0, 2.0, 3.0, 5.0])
  scale, offset = fit_calibration(raw, 0.2 + 1.5 * raw)
  assert scale == pytest.approx(1.5) and offset == pytest.approx(0.2)
  m = metrics([1.1, 2.0, 2.7], [1.0, 2.0, 3.0])
  assert m["mae_pct"] == pytest.approx(20 / 3) and m["rank_corr"] == pytest.approx(1.0)
  assert spearman([3, 2, 1], [1, 2, 3]) == pytest.approx(-1.0)


def test_calibration_fit_ignores_one_disturbed_measurement():
  from proxyless_tf.latency.validate import fit_calibration, leave_one_out
  raw = np.arange(1.0, 9.0)
  measured = 0.2 + 1.5 * raw
  assert leave_one_out(raw, measured) == pytest.approx(measured)
  measured[3] *= 1.4  # a slow spell during one sample
  scale, offset = fit_calibration(raw, measured)
  assert scale == pytest.approx(1.5, rel=1e-3) and offset == pytest.approx(0.2, abs=1e-2)
  squares = np.linalg.lstsq(np.stack([raw, np.ones(8)], 1) / measured[:, None], np.ones(8),
                            rcond=None)[0]
  assert abs(squares[0] - 1.5) > 0.01  # least squares would have been pulled


class _CountingMeasurer:
  """Each call returns a distinct, known entry; fails on call number `stop_after`."""

  def __init__(self, stop_after=None):
    self.stop_after, self.calls = stop_after, []

  def __call__(self, op, precision):
    if len(self.calls) == self.stop_after:
      raise KeyboardInterrupt
    self.calls.append(op.key)
    value = float(len(self.calls))
    return {"mean": value, "median": value, "std": 0.5, "count": 4}


def test_interleaved_rounds_resume_and_merge(tmp_path):
  space = get_space("tiny")
  keys = [op.key for op in all_space_ops(space)]
  out = str(tmp_path / "rounds.json")
  meta = {"device": "host: test", "threads": 1}
  first = _CountingMeasurer(stop_after=len(keys) + 2)  # round 1 done, 2 ops into round 2
  with pytest.raises(KeyboardInterrupt):
    build_space_table(space, out, [first], "float", meta, log=lambda *_: None, rounds=3,
                      canary=None)
  assert first.calls[:len(keys)] == keys  # round-major: every op once before any op twice
  saved = load_table(out)
  assert not saved.entries and sorted(saved.partial) == sorted(keys)
  assert sorted(len(r) for r in saved.partial.values()) == [1] * (len(keys) - 2) + [2, 2]
  second = _CountingMeasurer()
  table = build_space_table(space, out, [second], "float", meta, log=lambda *_: None, rounds=3,
                            canary=None)
  assert len(second.calls) == 3 * len(keys) - (len(keys) + 2)  # only the missing rounds
  assert not table.partial and sorted(table.entries) == sorted(keys)
  rounds = {k: [] for k in keys}
  for i, k in enumerate(first.calls):
    rounds[k].append(i + 1.0)
  for i, k in enumerate(second.calls):
    rounds[k].append(i + 1.0)
  for k, values in rounds.items():
    entry = table.entries[k]
    assert entry["median"] == pytest.approx(np.median(values))
    assert entry["mean"] == pytest.approx(np.mean(values))
    assert entry["count"] == 12
    assert entry["std"] == pytest.approx(np.sqrt(0.25 + np.var(values)))
  assert load_table(out).metadata["rounds"] == 3


def test_validation_measures_android_samples_through_adb(tmp_path, monkeypatch):
  from proxyless_tf.benchmark.android import parse_benchmark_output
  from proxyless_tf.latency.validate import measurer_for
  recorded = os.path.join(HERE, "data", "benchmark_model_cpu.txt")
  adb_dir = str(tmp_path / "adb")
  monkeypatch.setenv("PATH", adb_dir + os.pathsep + os.environ["PATH"])
  fake_adb.install(adb_dir, recorded, devices=("PHONE_A",))
  measure = measurer_for({"device": "android: Pixel", "threads": 2, "delegate": "none"}, runs=9,
                         serial="PHONE_A")
  with open(recorded) as f:
    summary = parse_benchmark_output(f.read(), "none")
  expected = summary["median_ms"] if summary.get("median_ms") is not None else summary["mean_ms"]
  assert measure(b"not really a model") == pytest.approx(expected)
  runs = [c for c in fake_adb.calls(adb_dir) if len(c) == 4 and "--graph=" in c[3]]
  assert len(runs) == 1 and "--num_threads=2 --num_runs=9" in runs[0][3]


def test_validate_command_on_a_host_table(tmp_path):
  from proxyless_tf.latency.table_space import space_metadata
  space = get_space("tiny")
  path = str(tmp_path / "tiny.json")
  table = _fake_table(space, path)
  table.metadata.update(space_metadata(space))
  table.save()
  command = [sys.executable, "-m", "proxyless_tf.latency", "validate", f"--table={path}",
             "--samples=4", "--rounds=3", "--runs=30", "--fit"]
  done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-2000:]
  # a fit, or (the machine busy: tiny nets time in microseconds) the refusal to fit noise
  assert ("leave-one-out MAE: sum" in done.stdout
          or "no correction fitted: fitting to noisy measurements" in done.stdout), done.stdout
  assert "between rounds" in done.stdout or "BUSY: rounds disagree by" in done.stdout
  assert "no canary" in done.stdout  # a table from before canaries says what it lacks
  assert os.path.getsize(str(tmp_path / "tiny_validation.png")) > 1000
  too_few = subprocess.run(command[:-3] + ["--samples=3", "--fit"], cwd=ROOT, capture_output=True,
                           text=True, timeout=600)
  assert too_few.returncode != 0 and "--fit needs --samples >= 4" in too_few.stderr
  assert "Traceback" not in too_few.stderr



def test_host_build_over_processes_equals_a_serial_build(tmp_path, monkeypatch):
  """Two pinned measuring processes share the ops; the table equals a one-measurer build's."""
  import fake_measure
  from proxyless_tf.latency.measure import ProcessHostMeasurer, host_process_measurers
  pids = tmp_path / "pids"
  pids.mkdir()
  monkeypatch.setenv("FAKE_MEASURE_PIDS", str(pids))
  space = get_space("tiny")
  meta = {"device": "host: test", "threads": 1}
  cores = sorted(os.sched_getaffinity(0))
  measurers = ([ProcessHostMeasurer((c,), measure="fake_measure:fake_entry") for c in cores[:2]]
               if len(cores) >= 2 else [ProcessHostMeasurer((cores[0],), measure="fake_measure:fake_entry")
                                        for _ in range(2)])
  try:
    parallel = build_space_table(space, str(tmp_path / "parallel.json"), measurers, "float", meta,
                                 rounds=2, log=lambda *_: None)
  finally:
    for m in measurers:
      m.close()
  serial = build_space_table(space, str(tmp_path / "serial.json"), [fake_measure.fake_entry],
                             "float", meta, rounds=2, log=lambda *_: None)
  assert len(parallel.entries) == len(all_space_ops(space))
  assert parallel.entries == serial.entries
  assert len(set(os.listdir(pids)) - {str(os.getpid())}) == 2  # both processes measured
  with pytest.raises(UserError, match="needs"):
    host_process_measurers(len(cores) + 1)
