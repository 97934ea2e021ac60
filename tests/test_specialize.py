"""The one-command job: search -> retrain -> export -> benchmark -> report, and continuing it."""

import json
import os

import pytest

from proxyless_tf.latency.cost_model import FlopsCostModel
from proxyless_tf.search.runner import SearchConfig
from proxyless_tf.specialize import SpecializeConfig, baseline_config, specialize
from proxyless_tf.space.space import get_space


def _configs(out):
  search = SearchConfig(out="", space="tiny", batch_size=16, valid_per_class=5, warmup_epochs=1,
                        epochs=1, steps_per_epoch=4, arch_skip_epochs=0, arch_update_every=2,
                        checkpoint_every=4, ref_latency=0.4, latency_loss="add_linear")
  spec = SpecializeConfig(out=str(out), retrain_epochs=1, batch_size=16, benchmark_rounds=1,
                          benchmark_runs=3, check_examples=20, baseline_candidate="k3_e3")
  return search, spec


@pytest.mark.slow
def test_specialize_runs_every_stage_and_continues_where_it_stopped(tmp_path, synthetic_dataset,
                                                                     monkeypatch):
  search, spec = _configs(tmp_path)
  logs = []
  report = specialize(search, spec, FlopsCostModel(), log=logs.append, dataset=synthetic_dataset)
  stages = json.load(open(tmp_path / "stages.json"))
  assert list(stages) == ["search", "retrain", "export", "benchmark", "report"]
  assert set(report["rows"]) == {"searched", "baseline"}
  for row in report["rows"].values():
    assert row["measured_float_ms"] > 0 and row["measured_int8_ms"] > 0
    assert 0 <= row["int8_accuracy"] <= 1 and row["export_ok"]
  text = open(tmp_path / "REPORT.md").read()
  assert "| searched (tiny_searched)" in text and "| baseline (baseline_k3e3)" in text
  learned = all(r["keras_accuracy"] >= 0.15 for r in report["rows"].values())
  assert ("Against the hand-designed net" in text) == learned
  assert ("did not learn" in text) != learned
  # a few arch steps leave the distribution near uniform, and the report says what that means
  assert stages["search"]["entropy_ratio"] > 0.9 and "still close to uniform" in text
  assert os.path.getsize(tmp_path / "latency.png") > 1000
  assert os.path.getsize(tmp_path / "arch.png") > 1000
  # killed during the benchmark: the next run redoes only the benchmark and the report
  del stages["benchmark"], stages["report"]
  json.dump(stages, open(tmp_path / "stages.json", "w"))
  import proxyless_tf.train as train_module

  def no_training(*args, **kwargs):
    raise AssertionError("retrained a net that was already trained")
  monkeypatch.setattr(train_module, "train", no_training)
  logs = []
  specialize(search, spec, FlopsCostModel(), log=logs.append, dataset=synthetic_dataset)
  assert any(line.startswith("== 4/5 benchmark") for line in logs)
  assert not any(line.startswith(("== 1/5", "== 2/5", "== 3/5")) for line in logs)


def test_baseline_is_k3e6_everywhere():
  space = get_space("small")
  config = baseline_config(space)
  searchable = config.blocks[1:]
  assert all(b.kernel_size == 3 and b.expand_ratio == 6 for b in searchable)
  assert len(config.blocks) == 1 + len(space.mixed_ops())


def test_report_says_what_the_re_ranking_chose():
  from proxyless_tf.specialize.report import verdicts
  row = {"predicted": 9.5, "unit": "MMACs", "measured_float_ms": 0.3, "keras_accuracy": 0.88,
         "export_ok": True}
  report = {"rows": {"searched": row}, "precision": "float", "num_classes": 10,
            "search": {"entropy_ratio": 0.93, "reranked": 6, "rerank_kept": 2,
                       "rerank_gain": 0.0092}}
  text = "\n".join(verdicts(report))
  assert "6 nets of the searched cost" in text and "candidate 2, +0.92 points" in text
  assert "close to uniform" not in text
  report["search"].update(rerank_kept=0, rerank_gain=0.0)
  assert "the search's own net scored best" in "\n".join(verdicts(report))
  report["search"].update(reranked=0)
  assert "still close to uniform" in "\n".join(verdicts(report))


def test_report_gives_a_ratio_request_in_ms_and_against_the_reference_net():
  from proxyless_tf.specialize.report import verdicts
  rows = {"searched": {"predicted": 0.138, "unit": "ms", "measured_float_ms": 0.1412,
                       "keras_accuracy": 0.88, "export_ok": True},
          "baseline": {"predicted": 0.1728, "unit": "ms", "measured_float_ms": 0.1765,
                       "keras_accuracy": 0.88, "export_ok": True}}
  report = {"rows": rows, "precision": "float", "num_classes": 10, "search": {},
            "target_latency": 0.13824, "speed_factor": 1.02,
            "request": {"target": 0.13824, "ratio": 0.8, "reference": 0.1728}}
  line = next(v for v in verdicts(report) if v.startswith("- Requested latency"))
  assert "0.8x the reference net = 0.138 ms" in line
  assert "measured 0.138 ms" in line and "speed factor 1.020" in line  # 0.1412 / 1.02
  assert "requested 0.800, predicted 0.799, measured 0.800 side by side" in line
  report.update(speed_factor=None)
  assert "the table has no canary" in next(v for v in verdicts(report) if "Requested" in v)
