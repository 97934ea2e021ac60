"""The search run: outputs, resume, NaN stop, loss forms, flag errors (kills and damaged
files at many more points: tests/fault_injection.py, test_fault_injection.py)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from proxyless_tf.arch import load_arch
from proxyless_tf.errors import UserError
from proxyless_tf.latency.cost_model import ExpectedCost, FlopsCostModel
from proxyless_tf.search.objective import hardware_loss, rl_reward
from proxyless_tf.search.runner import SearchConfig, SearchDiverged, SearchRun
from proxyless_tf.space.space import get_space
from conftest import tiny_search_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_config = tiny_search_config


def _summary_tags(folder) -> set:
  import tensorflow as tf
  tags = set()
  for name in os.listdir(folder):
    for record in tf.data.TFRecordDataset(str(folder / name)):
      event = tf.compat.v1.Event.FromString(record.numpy())
      tags |= {v.tag for v in event.summary.value}
  return tags


def test_search_writes_arch_png_checkpoints_and_logs(tiny_search):
  tmp_path, logs, result = tiny_search.whole, tiny_search.logs, tiny_search.result
  arch = load_arch(result.arch_path)
  assert arch == result.config and arch.input_size == 16 and arch.num_classes == 10
  assert os.path.getsize(result.png_path) > 1000
  assert any(f.startswith("ckpt-18") for f in os.listdir(tmp_path / "checkpoints"))
  tags = {part: _summary_tags(tmp_path / "tensorboard" / part) for part in ("train", "validation")}
  assert {"step/loss", "step/learning_rate", "step/arch_loss", "epoch/loss", "architecture",
          "arch/expected_latency_MMACs", "arch/entropy_nats"} <= tags["train"]
  assert any(t.startswith("arch_probability/") for t in tags["train"])
  assert {"epoch/loss", "epoch/accuracy"} <= tags["validation"]
  record = json.load(open(tmp_path / "search_config.json"))["run_record"]
  assert record["cost_model"]["name"] == "flops" and record["cost_model"]["unit"] == "MMACs"
  assert record["units"]["expected_latency"] == "MMACs" and record["proxyless_tf"]
  assert [row["epoch"] for row in result.history] == [1, 2, 3]
  assert result.history[-1]["expected_latency"] > 0
  assert result.predicted_latency == pytest.approx(FlopsCostModel().predict(arch))
  # the result says what it is worth: a few arch steps leave the distribution near uniform
  most = sum(np.log(len(s.candidates)) for s in get_space("tiny").mixed_ops())
  assert result.entropy_ratio * most == pytest.approx(result.history[-1]["entropy"], rel=1e-4)
  assert any(line.startswith("learned distribution: entropy") and "close to uniform" in line
             for line in logs)
  assert any("epoch 3 (search)" in line for line in logs)
  assert sum(line.startswith("projected: ") for line in logs) == 1  # once its steps are timed


def test_resume_continues_from_the_exact_step(tmp_path, synthetic_dataset, tiny_search):
  tmp_path = tiny_search.copy_stopped(tmp_path / "run")  # stopped at step 13
  run = SearchRun(_config(tmp_path), FlopsCostModel(), log=lambda *_: None,
                  dataset=synthetic_dataset)
  with pytest.raises(UserError, match="pass --resume"):
    run.run(resume=False)
  logs = []
  run = SearchRun(_config(tmp_path), FlopsCostModel(), log=logs.append, dataset=synthetic_dataset)
  result = run.run(resume=True)
  assert any("at step 13/18" in line for line in logs)
  assert result.steps == 18 and int(run.step.numpy()) == 18
  assert [row["epoch"] for row in json.load(open(tmp_path / "history.json"))] == [1, 2, 3]
  with pytest.raises(UserError, match="different batch_size"):
    SearchRun(_config(tmp_path, batch_size=8), None, log=lambda *_: None,
              dataset=synthetic_dataset).run(resume=True)


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path, synthetic_dataset, tiny_search):
  tmp_path = tiny_search.copy_stopped(tmp_path / "run")  # stopped at step 13
  run = SearchRun(_config(tmp_path, warmup_lr=1e30, lr=1e30), FlopsCostModel(),
                  log=lambda *_: None, dataset=synthetic_dataset)
  with pytest.raises(SearchDiverged, match="became nan") as err:
    run.run(resume=True)
  assert "ckpt-13" in str(err.value)
  assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-13")


def test_reinforce_search_runs(tmp_path, synthetic_dataset):
  run = SearchRun(_config(tmp_path, arch_algo="rl", rl_updates_per_epoch=3, rl_samples=3),
                  FlopsCostModel(), log=lambda *_: None, dataset=synthetic_dataset)
  before = [p.copy() for p in run.net.probabilities()]
  run.run()
  assert int(run.arch_updates.numpy()) == (2 - 1) * 3  # the first search epoch has none
  assert any(not np.allclose(a, b) for a, b in zip(before, run.net.probabilities()))


def test_mul_log_refuses_latencies_below_one(tmp_path, synthetic_dataset):
  with pytest.raises(UserError, match="use --latency_loss=add_linear"):
    SearchRun(_config(tmp_path, latency_loss="mul_log", ref_latency=2.0), FlopsCostModel(),
              dataset=synthetic_dataset)


def test_latency_loss_forms():
  ce, lat, ref = tf.constant(2.0), tf.constant(90.0), 80.0
  np.testing.assert_allclose(hardware_loss(ce, lat, ref, "mul_log"),
                             2.0 * 0.2 * (np.log(90) / np.log(80)) ** 0.3, rtol=1e-6)
  np.testing.assert_allclose(hardware_loss(ce, lat, ref, "add_linear"), 2.0 + 0.1 * 10 / 80,
                             rtol=1e-6)
  assert float(hardware_loss(ce, lat, ref, "none")) == 2.0
  assert rl_reward(0.5, 160.0, 80.0) == pytest.approx(0.5 * 0.5 ** 0.1)
  assert rl_reward(0.5, None, 80.0) == 0.5
  with pytest.raises(UserError):
    hardware_loss(ce, lat, ref, "square")


def test_expected_cost_equals_predictor_on_one_hot():
  space = get_space("tiny")
  model = FlopsCostModel()
  expected = ExpectedCost(model, space)
  rng = np.random.default_rng(0)
  for _ in range(3):
    choices = [int(rng.integers(len(s.candidates))) for s in space.mixed_ops()]
    one_hot = [tf.constant(np.where(np.arange(len(s.candidates)) == c, 50.0, -50.0), tf.float32)
               for s, c in zip(space.mixed_ops(), choices)]
    assert float(expected(one_hot)) == pytest.approx(model.predict(space.derive(choices)), rel=1e-5)
    assert expected.of_choices(choices) == pytest.approx(model.predict(space.derive(choices)))


def test_same_flags_and_seed_give_the_same_run(tmp_path, synthetic_dataset, tiny_search):
  runs = [(tiny_search.result.history, open(tiny_search.result.arch_path).read())]  # run "a"
  run = SearchRun(_config(tmp_path / "b", max_steps=0), FlopsCostModel(), log=lambda *_: None,
                  dataset=synthetic_dataset)
  result = run.run()
  runs.append((result.history, open(result.arch_path).read()))
  assert runs[0] == runs[1]
  # the first epoch's row is all the seed's check reads: its warm-up epoch is enough
  other = SearchRun(_config(tmp_path / "c", seed=1, max_steps=6), FlopsCostModel(),
                    log=lambda *_: None, dataset=synthetic_dataset).run()
  assert other.history[0]["train_loss"] != runs[0][0][0]["train_loss"]  # the seed matters


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["--batch_size=0"], "error: flag --batch_size=0: 0 is not a positive integer"),
    (["--input_size=-16"], "error: flag --input_size=-16: -16 is not an integer in the range [1, 4096]"),
    (["--ref_latency=-1"], "--ref_latency must be > 0"),
    (["--arch_mode=bogus"], "--arch_mode=bogus: value should be one of"),
    (["--target=gpu", "--precision=int8"], "error: GPU latency is measured in float32"),
    (["--target=cpu", "--precision=float16"], "error: --precision=float16 is for --target=gpu"),
    (["--dataset=fashion_mnist_local", "--data_dir=/nonexistent"], "error: Fashion-MNIST not found"),
    (["stray"], "error: unexpected arguments ['stray']"),
    (["--target_latency=-1"], "error: --target_latency must be >= 0"),
    (["--target_latency=fast"], "error: --target_latency must be a number in the target's unit"),
    (["--target=none", "--target_latency=0.5"], "error: --target_latency needs a cost model"),
])
def test_bad_flags_are_one_line_errors(tmp_path, args, message):
  proc = subprocess.run([sys.executable, "-m", "proxyless_tf.search", f"--out={tmp_path}"] + args,
                        cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2
  assert message in proc.stderr
  assert "Traceback" not in proc.stderr


def test_cpu_target_measures_and_caches_a_host_table(tmp_path, synthetic_dataset, monkeypatch):
  from proxyless_tf.latency import host_cache
  from proxyless_tf.latency.host_cache import cache_dir
  from proxyless_tf.latency.targets import cost_model_for_target
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
  monkeypatch.setattr(host_cache, "SELF_CHECK_SAMPLES", 4)
  logs = []
  model = cost_model_for_target("cpu", num_threads=1)
  model.log = logs.append
  run = SearchRun(_config(tmp_path / "run", max_steps=2), model, log=lambda *_: None,
                  dataset=synthetic_dataset)
  assert any("building the latency table of this CPU" in line for line in logs)
  files = [f for f in os.listdir(cache_dir()) if f.endswith(".json")]  # and its .lock
  assert len(files) == 1 and "-t1-float-dw25-tiny-16x1-c10" in files[0]
  # built with a self-check on whole networks, whose error the search printed once
  check = json.load(open(os.path.join(cache_dir(), files[0])))["metadata"]["self_check"]
  assert check["samples"] == 4 and check["raw_mae_pct"] >= 0
  assert sum("checked on 4 random networks" in line for line in logs) == 1
  assert float(run.steps.expected_latency()) > 0
  again = cost_model_for_target("cpu", num_threads=1)
  again.log = logs.append
  again.prepare(run.space)  # cached: nothing left to measure
  assert any("reusing" in line for line in logs)
  assert any("networks measured now" in line for line in logs)  # the quick check ran
  # another CPU identity (here: other ISA features) never reuses this table
  from proxyless_tf.latency import identity
  real = identity.host_identity()
  monkeypatch.setattr(host_cache, "host_identity", lambda: {**real, "isa": ["sse4_1"]})
  assert host_cache.cache_path(run.space, "float", 1) != os.path.join(cache_dir(), files[0])
  assert again.predict(run.space.derive([0, 0, 0])) == pytest.approx(model.predict(
      run.space.derive([0, 0, 0])))


def test_latency_controller_moves_the_multiplier_towards_the_target():
  from proxyless_tf.search.target_latency import LatencyController
  c = LatencyController(2.0, rate=0.5, limit=1.0)
  assert c.update(3.0) == pytest.approx(0.25)  # too slow: weight up
  assert c.update(1.0) == pytest.approx(0.0)  # too fast: weight down
  assert c.update(1.0) == pytest.approx(-0.25)  # below zero: a target, not only a bound
  for _ in range(20):
    c.update(10.0)
  assert float(c.multiplier.numpy()) == pytest.approx(1.0)  # clipped


def _tiny_latencies():
  import itertools
  space = get_space("tiny").with_task(16, 1, 10)
  model = FlopsCostModel()
  sizes = [len(s.candidates) for s in space.mixed_ops()]
  return sorted({round(model.predict(space.derive(list(c))), 6)
                 for c in itertools.product(*[range(n) for n in sizes])})


def test_requested_latency_mode_lands_on_the_target_and_resumes(tmp_path, synthetic_dataset):
  values = _tiny_latencies()
  target = values[len(values) // 2]
  kw = dict(warmup_epochs=1, epochs=6, arch_skip_epochs=0, arch_update_every=1, arch_lr=0.05,
            target_latency=target, target_latency_rate=0.5)
  whole = SearchRun(_config(tmp_path / "whole", **kw), FlopsCostModel(), log=lambda *_: None,
                    dataset=synthetic_dataset).run()
  assert whole.predicted_latency == pytest.approx(target, rel=0.03), (values, target)
  assert "derived_latency" in whole.history[-1]
  # killed half-way and resumed: the multiplier comes back from the checkpoint
  partial = SearchRun(_config(tmp_path / "resumed", max_steps=20, **kw), FlopsCostModel(),
                      log=lambda *_: None, dataset=synthetic_dataset)
  partial.run()
  saved = float(partial.controller.multiplier.numpy())
  assert saved != 0.0
  run = SearchRun(_config(tmp_path / "resumed", **kw), FlopsCostModel(), log=lambda *_: None,
                  dataset=synthetic_dataset)
  run.restore_or_start(resume=True)
  assert float(run.controller.multiplier.numpy()) == saved
  resumed = run.run(resume=True)
  assert resumed.predicted_latency == pytest.approx(target, rel=0.03)
  with pytest.raises(UserError, match="different target_latency"):
    SearchRun(_config(tmp_path / "resumed", **{**kw, "target_latency": values[-1]}),
              FlopsCostModel(), log=lambda *_: None, dataset=synthetic_dataset).run(resume=True)


def test_requested_latency_outside_the_space_is_a_clear_error(tmp_path, synthetic_dataset):
  values = _tiny_latencies()
  for target in (values[0] * 0.9, values[-1] * 1.1):
    with pytest.raises(UserError, match="outside what the space can be") as err:
      SearchRun(_config(tmp_path, target_latency=target), FlopsCostModel(), log=lambda *_: None,
                dataset=synthetic_dataset)
    assert f"{values[0]:.4g} to {values[-1]:.4g}" in str(err.value)
  # a ratio to the reference net: resolved on the cost model, its range said as ratios too
  with pytest.raises(UserError, match=r"--target_latency=50x the reference net = .* outside .* "
                     r"to .*x the reference net"):
    SearchRun(_config(tmp_path, target_latency="50x"), FlopsCostModel(), log=lambda *_: None,
              dataset=synthetic_dataset)


def test_no_arch_update_in_the_first_search_epoch(tmp_path, synthetic_dataset):
  run = SearchRun(_config(tmp_path, warmup_epochs=1, epochs=2, max_steps=12), FlopsCostModel(),
                  log=lambda *_: None, dataset=synthetic_dataset)
  before = [op.alpha.numpy().copy() for op in run.net.mixed_ops]
  run.run()
  assert int(run.arch_updates.numpy()) == 0  # steps 6..11 are the first search epoch
  assert all(np.array_equal(b, op.alpha.numpy()) for b, op in zip(before, run.net.mixed_ops))
  run = SearchRun(_config(tmp_path, warmup_epochs=1, epochs=2), FlopsCostModel(),
                  log=lambda *_: None, dataset=synthetic_dataset)
  run.run(resume=True)
  assert int(run.arch_updates.numpy()) == 3  # second search epoch: 6 steps, one update per 2


def test_choices_at_latency_is_the_most_probable_architecture_on_target():
  import itertools
  from proxyless_tf.search.target_latency import choices_at_latency
  rng = np.random.default_rng(0)
  costs = [rng.uniform(0.1, 1.0, 4) for _ in range(5)]
  log_probs = [np.log(rng.dirichlet(np.ones(4))) for _ in range(5)]
  fixed, scale, offset = 0.7, 0.9, 0.3
  def latency(ch):
    return offset + scale * (fixed + sum(c[j] for c, j in zip(costs, ch)))
  for target in (latency([0] * 5), latency([1, 2, 3, 0, 1]), latency([3] * 5)):
    best, best_score = None, -np.inf
    for ch in itertools.product(range(4), repeat=5):
      lat = latency(ch)
      score = sum(lp[j] for lp, j in zip(log_probs, ch))
      if abs(lat - target) <= 0.03 * target and score > best_score:
        best, best_score = list(ch), score
    assert choices_at_latency(log_probs, costs, fixed, target, scale=scale, offset=offset) == best
  # out of reach: the closest architecture
  fastest = [int(np.argmin(c)) for c in costs]
  assert choices_at_latency(log_probs, costs, fixed, 0.5, scale=scale, offset=offset) == fastest


def test_damaged_checkpoint_state_never_loses_the_run(tmp_path, synthetic_dataset):
  """A garbage state file, a corrupt newest checkpoint or a lost config: the run resumes from the
  newest readable checkpoint or stops with one line; a fresh start never overwrites it."""
  kw = dict(warmup_epochs=1, epochs=1, checkpoint_every=3, max_steps=9)
  make = lambda **extra: SearchRun(_config(tmp_path, **{**kw, **extra}), FlopsCostModel(),  # noqa: E731
                                   log=logs.append, dataset=synthetic_dataset)
  logs = []
  make().run()
  folder = tmp_path / "checkpoints"
  history = json.loads((tmp_path / "history.json").read_text())
  assert [row["epoch"] for row in history] == [1, 2]  # written per epoch, epoch 2 partial
  (folder / "checkpoint").write_text("\x00garbage{{")
  with pytest.raises(UserError, match="already holds a search"):
    make().restore_or_start(resume=False)
  run = make(max_steps=0)
  run.restore_or_start(resume=True)
  assert int(run.step.numpy()) == 9  # from ckpt-9, found without the state file
  (folder / "ckpt-9.index").write_bytes(b"not an index")
  run = make(max_steps=0)
  run.restore_or_start(resume=True)
  assert int(run.step.numpy()) == 6
  assert any("ckpt-9 is unreadable" in line for line in logs)
  # a data shard cut short (a copy stopped half-way): the next older one, with a line
  shard = next(folder.glob("ckpt-6.data-*"))
  shard.write_bytes(shard.read_bytes()[:100])
  run = make(max_steps=0)
  run.restore_or_start(resume=True)
  assert int(run.step.numpy()) == 3
  assert any("ckpt-6 is unreadable" in line for line in logs)
  for index in folder.glob("ckpt-*.index"):
    index.write_bytes(b"broken")
  with pytest.raises(UserError, match="no readable checkpoint"):
    make(max_steps=0).restore_or_start(resume=True)
  (tmp_path / "search_config.json").unlink()
  with pytest.raises(UserError, match="search_config.json is missing or unreadable"):
    make(max_steps=0).restore_or_start(resume=True)


def test_every_flag_file_parses_into_the_search_flags():
  """Each flags/*.flags names only flags and values the search accepts (e.g. its --space)."""
  import glob
  code = ("import sys; from absl import flags; "
          "from proxyless_tf.utils.search_flags import define_search_flags, apply_target_defaults; "
          "define_search_flags(); flags.FLAGS(['x']); "
          "[apply_target_defaults(t) for t in sys.argv[1:]]; print('ok')")
  targets = [os.path.basename(p)[:-6] for p in glob.glob(os.path.join(ROOT, "flags", "*.flags"))]
  assert {"mobile", "cpu", "gpu", "phone_gpu", "quickstart"} <= set(targets)
  # one process for all: a target's values stay defaults (not "present"), so the next file's
  # values are parsed over them just as on a fresh command line
  result = subprocess.run([sys.executable, "-c", code, *targets], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
  assert result.returncode == 0 and "ok" in result.stdout, (targets, result.stderr[-800:])


def test_a_missing_target_flag_file_is_an_error(monkeypatch, tmp_path):
  from proxyless_tf.utils import search_flags
  monkeypatch.setattr(search_flags, "FLAGS_DIR", str(tmp_path))
  with pytest.raises(UserError, match="--target=cpu: its flag file .* is missing"):
    search_flags.apply_target_defaults("cpu")
  search_flags.apply_target_defaults("none")  # no file by design


def test_resume_notices_a_changed_latency_table(tmp_path, synthetic_dataset, tiny_search):
  tmp_path = tiny_search.copy_stopped(tmp_path / "run")
  path = tmp_path / "search_config.json"
  saved = json.loads(path.read_text())
  saved["run_record"]["cost_model"]["table_sha256"] = "0" * 64  # as if measured with another table
  path.write_text(json.dumps(saved))
  with pytest.raises(UserError, match="different cost model"):
    SearchRun(_config(tmp_path, max_steps=15), FlopsCostModel(), log=lambda *_: None,
              dataset=synthetic_dataset).run(resume=True)


def test_distribution_verdict_tells_a_decided_search_from_a_near_uniform_one():
  from proxyless_tf.search.confidence import distribution_verdict
  uniform = [np.full(7, 1 / 7), np.full(6, 1 / 6)]
  ratio, text = distribution_verdict(uniform)
  assert ratio == pytest.approx(1.0) and "close to uniform" in text and "0 of 2 decisions" in text
  decided = [np.array([0.97, 0.01, 0.01, 0.01]), np.array([0.02, 0.9, 0.08])]
  ratio, text = distribution_verdict(decided)
  assert 0 < ratio < 0.3 and "close to uniform" not in text and "2 of 2 decisions" in text
  _, text = distribution_verdict(uniform, reranked=6)
  assert "re-ranking's short trainings chose among 6 nets" in text and "random net" not in text


def test_rerank_candidates_are_distinct_same_cost_draws_with_the_derived_net_first():
  from proxyless_tf.search.rerank import draw_candidates
  space = get_space("small")
  expected = ExpectedCost(FlopsCostModel(), space)
  probs = [np.full(len(s.candidates), 1 / len(s.candidates)) for s in space.mixed_ops()]
  derived = [1] * len(probs)
  found = draw_candidates(probs, derived, 6, expected.of_choices, tolerance=0.03, seed=3)
  anchor = expected.of_choices(derived)
  assert len(found) == 6 and found[0].choices == derived and found[0].origin == "search"
  assert len({c.key for c in found}) == 6
  assert all(abs(c.cost / anchor - 1) <= 0.03 for c in found)
  assert [c.key for c in draw_candidates(probs, derived, 6, expected.of_choices, seed=3)] == \
      [c.key for c in found]
  # a requested cost anchors the tolerance instead of the derived net's own cost
  target = anchor * 1.05
  on_target = draw_candidates(probs, derived, 4, expected.of_choices, seed=3, anchor=target)
  assert all(abs(c.cost / target - 1) <= 0.03 for c in on_target[1:])
  # a decided distribution holds only the derived net
  decided = [np.eye(len(p))[1] for p in probs]
  assert len(draw_candidates(decided, derived, 6, expected.of_choices)) == 1


def test_rerank_split_is_disjoint_and_seeded():
  from proxyless_tf.data import Split
  from proxyless_tf.search.rerank import rerank_split
  train = Split(np.arange(300).reshape(300, 1, 1, 1), np.zeros(300, np.int32))  # image = its index
  part, held = rerank_split(train, valid_examples=10_000, train_examples=50, seed=1)
  tag = lambda s: set(s.images.ravel().tolist())  # noqa: E731
  assert len(held) == 60 and len(part) == 50 and not tag(part) & tag(held)
  again, _ = rerank_split(train, valid_examples=10_000, train_examples=50, seed=1)
  assert tag(again) == tag(part)
  with pytest.raises(UserError, match="too few"):
    rerank_split(train.take(np.arange(3)), 10, 10, seed=1)


def test_rerank_with_a_damaged_record_sets_it_aside_and_redoes_its_trainings(
    tmp_path, synthetic_dataset):
  from proxyless_tf.search.rerank import Reranker
  logs = []
  for damaged in ('{"cut off', '{"net|seed 0": {"accuracy": "high"}}'):
    (tmp_path / "rerank.json").write_text(damaged)
    assert Reranker(synthetic_dataset, str(tmp_path), log=logs.append).state == {}
    assert (tmp_path / "rerank.json.unreadable").read_text() == damaged
    assert not (tmp_path / "rerank.json").exists()
  assert len(logs) == 2 and all("rerank.json is unreadable" in line and "redone" in line
                                for line in logs)


def test_rerank_keeps_the_best_short_training_and_a_resumed_run_trains_nothing_again(
    tmp_path, synthetic_dataset):
  # the tiny space holds only 2 nets within 3% of the derived one's cost at this seed
  config = _config(tmp_path, epochs=1, arch_skip_epochs=0, rerank_candidates=3, rerank_seeds=2,
                   rerank_train_examples=200, rerank_valid_examples=40)
  logs = []
  result = SearchRun(config, FlopsCostModel(), log=logs.append, dataset=synthetic_dataset).run()
  scores = [c.score for c in result.rerank]
  assert len(result.rerank) == 2 and result.rerank_kept == int(np.argmax(scores))
  assert any("holds 2 distinct nets within 3%" in line for line in logs)
  kept = result.rerank[result.rerank_kept]
  assert load_arch(result.arch_path) == get_space("tiny").with_task(16, 1, 10).derive(
      kept.choices, name="tiny_searched")
  anchor = result.rerank[0].cost
  assert all(abs(c.cost / anchor - 1) <= 0.03 for c in result.rerank)
  state = json.load(open(tmp_path / "rerank.json"))
  assert sorted(v["accuracy"] for v in state.values()) == sorted(
      s for c in result.rerank for s in c.scores)
  assert sum(line.startswith("re-ranking 1/4") for line in logs) == 1
  assert any(line.startswith("| net | from |") for line in logs)
  # killed before the last training: the resumed run trains only that one, keeps the same net
  del state[next(k for k in state if k.startswith(result.rerank[1].key + "|seed 1"))]
  (tmp_path / "rerank.json").write_text(json.dumps(state))
  logs = []
  again = SearchRun(config, FlopsCostModel(), log=logs.append,
                    dataset=synthetic_dataset).run(resume=True)
  assert [line.split(":")[0] for line in logs if line.startswith("re-ranking ")
          and "/4" in line] == ["re-ranking 4/4"]
  assert again.rerank_kept == result.rerank_kept and again.arch == result.arch


def test_a_search_projects_its_wall_time_once_its_steps_are_timed():
  from proxyless_tf.search.projection import CostProjection, count_arch_updates
  logs = []
  paper = CostProjection(weight_steps=37_000, arch_updates=7_000, log=logs.append)
  paper.weight_step(300.0)  # the first call builds programs: not a steady step
  paper.weight_step(30.0, built=True)  # a candidate sampled for the first time: neither
  for _ in range(5):
    paper.weight_step(1.0)
  assert len(logs) == 2 and logs[0].startswith("projected: 14:09:53 more for 36993 weight steps")
  assert "not timed yet" in logs[0] and logs[1].startswith("note: this search is more than an "
                                                           "hour on this CPU")
  assert "flags/quickstart.flags" in logs[1]
  for seconds in (200.0, 3.0, 3.0):
    paper.arch_step(seconds)
  assert len(logs) == 3 and logs[2].startswith("projected: 16:06:24")
  assert "arch update 3 s" in logs[2]
  quick = []
  short = CostProjection(weight_steps=20, arch_updates=0, log=quick.append, device="GPU")
  for seconds in (9.0, 1.0, 1.0, 2.0, 1.0, 1.0):
    short.weight_step(seconds)
  assert quick == [quick[0]] and quick[0].startswith("projected: 0:14 more for 14 weight steps")
  # a space whose steps keep building pieces: projected from its latest steps, said so
  building = []
  tree = CostProjection(weight_steps=1000, arch_updates=0, log=building.append)
  for _ in range(40):
    tree.weight_step(2.0, built=True)
  assert len(building) == 1 and building[0].startswith("projected: 32:00 more for 960 weight")
  assert "still building new pieces: an upper bound" in building[0]
  # the loop's rule: from arch_start, every `interval` steps counted from the warm-up's end
  assert count_arch_updates(range(0, 18), arch_start=12, warmup_steps=6, interval=2) == 3


def test_epoch_sums_are_named_and_keep_the_checkpointed_layout(tmp_path):
  """An epoch's sums by name, in the vector layout checkpoints already hold."""
  from proxyless_tf.search.epoch_sums import FIELDS, EpochSums
  sums = EpochSums()
  sums.add(loss=2.0, accuracy=0.5, steps=1)
  sums.add(loss=1.0, accuracy=0.25, steps=1)
  sums.add(arch_loss=3.0, arch_steps=1)
  assert sums.read() == {"loss": 3.0, "accuracy": 0.75, "steps": 2.0, "arch_loss": 3.0,
                         "arch_steps": 1.0}
  path = tf.train.Checkpoint(epoch_sums=sums.variable).write(str(tmp_path / "ckpt"))
  saved = tf.train.load_variable(path, "epoch_sums/.ATTRIBUTES/VARIABLE_VALUE")
  assert list(saved) == [3.0, 0.75, 2.0, 3.0, 1.0] and FIELDS[0] == "loss"
  with pytest.raises(KeyError, match="no epoch sums named"):
    sums.add(los=1.0)
  sums.reset()
  assert set(sums.read().values()) == {0.0}


def test_arch_update_strategies_own_their_schedule():
  from proxyless_tf.search.arch_update import ARCH_UPDATES, arch_update
  from proxyless_tf.search.runner import SearchConfig
  grad = arch_update(SearchConfig(out="x", arch_update_every=5, arch_mode="two"), steps=None)
  rl = arch_update(SearchConfig(out="x", arch_algo="rl", rl_updates_per_epoch=10), steps=None)
  assert set(ARCH_UPDATES) == {"grad", "rl"}
  assert (grad.interval(100), grad.describe(), grad.name) == (5, "grad/two", "arch step")
  assert (rl.interval(100), rl.interval(5), rl.describe()) == (10, 1, "rl")


def test_options_fixed_on_resume_are_declared_with_the_option(tmp_path, synthetic_dataset,
                                                              tiny_search):
  """An option marks itself `fixed_on_resume` where it is declared; a resume that changes one is
  refused in one line naming it."""
  import dataclasses
  fixed = {f.name for f in dataclasses.fields(SearchConfig) if f.metadata.get("fixed_on_resume")}
  assert {"space", "dataset", "batch_size", "seed", "arch_algo", "arch_mode"} <= fixed
  assert "lr" not in fixed and "max_steps" not in fixed
  run_dir = tiny_search.copy_stopped(tmp_path / "run")
  config = _config(run_dir, max_steps=15)
  with pytest.raises(UserError, match="--resume with different valid_per_class"):
    SearchRun(dataclasses.replace(config, valid_per_class=config.valid_per_class + 1),
              FlopsCostModel(), log=lambda *_: None, dataset=synthetic_dataset).run(resume=True)


def test_option_bounds_and_choices_are_declared_with_the_option():
  """`validate()` reads each option's bounds and choices from its declaration: one line naming
  the flag."""
  import dataclasses
  fields = dataclasses.fields(SearchConfig)
  minimums = {f.name: f.metadata["minimum"] for f in fields if "minimum" in f.metadata}
  assert minimums["batch_size"] == 1 and minimums["epochs"] == 0 and "lr" not in minimums
  for name, minimum in minimums.items():
    config = SearchConfig(out="x", **{name: minimum - 1})
    with pytest.raises(UserError, match=f"--{name} must be (>= {minimum}|in \\[{minimum}, )"):
      config.validate()
  for field in fields:
    if "maximum" in field.metadata:
      with pytest.raises(UserError, match=f"--{field.name} must be in "):
        SearchConfig(out="x", **{field.name: field.metadata["maximum"] + 1}).validate()
  for name in ("arch_mode", "weight_sharing", "latency_loss", "stream", "strategy"):
    with pytest.raises(UserError, match=f"--{name} must be one of"):
      SearchConfig(out="x", **{name: "bogus"}).validate()
  with pytest.raises(UserError, match="--epochs must be an integer"):
    SearchConfig(out="x", epochs=2.5).validate()


def test_each_option_is_declared_once_and_its_flag_is_made_from_it():
  """The flag of every option the search defines comes from its declaration (kind, default,
  bounds, choices, help), and text values (flag files, the Python API) are read by the same
  declaration."""
  from absl import flags
  from proxyless_tf.search.config import choices_of, coerce, options
  from proxyless_tf.utils.search_flags import define_option_flag
  values = flags.FlagValues()
  own = [f for f in options() if f.metadata["flag"] == "own"]
  assert {"space", "epochs", "arch_mode", "target_latency", "rerank_candidates"} <= {
      f.name for f in own}
  for field in own:
    define_option_flag(field, values)
    flag = values[field.name]
    text = field.metadata["help"]
    assert flag.help and flag.help.endswith(text() if callable(text) else text)  # enums: <a|b>: 
    if field.default is not None and field.name != "target_latency":  # "0.8x" or ms: validate()
      assert flag.value == field.default, field.name
      assert coerce(field.name, str(field.default)) == field.default, field.name
    choices = choices_of(field)
    if choices is not None:
      assert list(flag.parser.enum_values) == [str(c) for c in choices]
    if "minimum" in field.metadata:
      assert flag.parser.lower_bound == field.metadata["minimum"], field.name
  values(["prog", "--epochs=7", "--space=tiny_v3", "--nodeterministic"])
  assert (values.epochs, values.space, values.deterministic) == (7, "tiny_v3", False)
  with pytest.raises(flags.IllegalFlagValueError):
    values(["prog", "--batch_size=0"])
  assert coerce("epochs", "3") == 3 and coerce("lr", "0.5") == 0.5
  assert coerce("verify_latency", "false") is False and coerce("target_latency", "0.8x") == "0.8x"
