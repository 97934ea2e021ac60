"""The search on the tree-cell space: the same mixed op, steps and runner as the MobileNetV2 space
(gradient modes and REINFORCE), then derive -> both formats -> build -> train -> export."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from proxyless_tf.arch import load_arch
from proxyless_tf.families.pyramid_tree.config import TreeNetConfig
from proxyless_tf.families.pyramid_tree.original import from_original
from proxyless_tf.latency.cost_model import ExpectedCost, FlopsCostModel
from proxyless_tf.search.runner import SearchConfig, SearchRun
from proxyless_tf.space.space import get_space
from proxyless_tf.supernet.supernet import build_supernet


def _config(out, **kw):
  base = dict(out=str(out), space="tiny_tree", batch_size=16, valid_per_class=5, warmup_epochs=1,
              epochs=2, steps_per_epoch=4, arch_update_every=1, checkpoint_every=100,
              latency_loss="add_linear", ref_latency=0.5, arch_lr=0.05, input_size=16)
  base.update(kw)
  return SearchConfig(**base)


def test_tree_space_decisions_and_costs_agree_with_the_derived_nets():
  space = get_space("small_tree")
  specs = space.mixed_ops()
  assert len(specs) == 6 * 6 and all(len(s.candidates) == 8 for s in specs)
  expected = ExpectedCost(FlopsCostModel(), space)
  rng = np.random.default_rng(0)
  for _ in range(3):
    choices = list(rng.integers(0, 8, len(specs)))
    arch = space.derive(choices)
    assert isinstance(arch, TreeNetConfig)
    assert expected.of_choices(choices) == pytest.approx(FlopsCostModel().predict(arch), rel=1e-6)
  assert space.reference_arch().blocks[0].cell.edges[0].child.edges[0].op == "sep_3x3"


def test_full_v2_gate_gradient_equals_full_on_the_tree_supernet():
  net = build_supernet(get_space("tiny_tree"))
  net.set_active([0, 1, 2, 0, 1, 2])
  x = tf.random.stateless_normal((4, 16, 16, 1), seed=(1, 2))
  grads = {}
  for mode in ("full", "full_v2"):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(tf.square(net(x, training=False, mode=mode)))
    grads[mode] = [g.numpy() for g in tape.gradient(loss, net.arch_variables)]
  assert any(np.abs(g).sum() > 0 for g in grads["full"])
  for a, b in zip(grads["full"], grads["full_v2"]):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("mode", ["full_v2", "two", "rl"])
def test_tree_search_modes_update_the_architecture_and_derive_both_formats(
    mode, tmp_path, synthetic_dataset):
  kw = (dict(arch_algo="rl", rl_updates_per_epoch=3, rl_samples=2) if mode == "rl"
        else dict(arch_mode=mode))
  run = SearchRun(_config(tmp_path, **kw), FlopsCostModel(), log=lambda *_: None,
                  dataset=synthetic_dataset)
  before = [p.copy() for p in run.net.probabilities()]
  result = run.run()
  assert int(run.arch_updates.numpy()) > 0
  assert any(not np.allclose(a, b) for a, b in zip(before, run.net.probabilities()))
  arch = load_arch(result.arch_path)
  assert isinstance(arch, TreeNetConfig) and arch == result.config
  with open(os.path.join(tmp_path, "net_original.config")) as f:
    assert from_original(json.load(f), name=arch.name) == arch
  assert os.path.getsize(result.png_path) > 1000


def test_found_tree_net_trains_and_exports(tmp_path, synthetic_dataset):
  from proxyless_tf.export.pipeline import export_model
  from proxyless_tf.train import train
  space = get_space("tiny_tree")
  arch = space.derive([0, 1, 2, 2, 1, 0])
  model, history = train(arch, synthetic_dataset, str(tmp_path / "train"), epochs=1,
                         batch_size=16, lr=0.05, momentum=0.9, weight_decay=4e-5,
                         label_smoothing=0.1, verbose=0)
  assert np.isfinite(history["loss"][-1])
  import keras
  reloaded = keras.saving.load_model(str(tmp_path / "train" / "model.keras"))
  x = synthetic_dataset.test.images[:8].astype(np.float32) / 127.5 - 1
  x = tf.image.resize(x, (16, 16)).numpy()
  np.testing.assert_allclose(reloaded(x, training=False), model(x, training=False), atol=1e-5)
  results = export_model(model, str(tmp_path / "export"), ("float", "int8"), x, x,
                         log=lambda *_: None, input_kind="normalized")
  assert all(r.ok for r in results), [r.problem for r in results]


def test_tree_latency_tables_on_the_host_and_through_adb_price_the_derived_nets(
    tmp_path, monkeypatch, synthetic_dataset):
  """The edge ops are measured like MBConv ops: LiteRT on this host and `benchmark_model` over
  the same adb path; the table prices a derived net as the one-hot expected latency, and a
  search runs against it."""
  import fake_adb
  from proxyless_tf.latency.builder import build_space_table
  from proxyless_tf.latency.table_space import space_from_metadata
  from proxyless_tf.latency.measure import AndroidMeasurer, HostMeasurer
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.latency.table import TableCostModel, load_table
  here = os.path.dirname(os.path.abspath(__file__))
  space = get_space("tiny_tree").with_task(input_size=16, input_channels=1, num_classes=10)
  keys = {op.key for op in all_space_ops(space)}
  assert {k.split("-")[0] for k in keys} == {"tree_stem", "tree_block", "tree_edge", "tree_head"}
  host = build_space_table(space, str(tmp_path / "host.json"),
                           [HostMeasurer(num_threads=1, warmup=1, runs=3)], "float",
                           {"device": "host: test", "threads": 1}, log=lambda *_: None)
  assert set(host.entries) == keys and all(e["median"] > 0 for e in host.entries.values())
  assert space_from_metadata(load_table(host.path).metadata) == space

  adb_dir = str(tmp_path / "adb")
  monkeypatch.setenv("PATH", adb_dir + os.pathsep + os.environ["PATH"])
  fake_adb.install(adb_dir, os.path.join(here, "data", "benchmark_model_cpu.txt"),
                   devices=("PHONE_A",))
  phone = build_space_table(space, str(tmp_path / "phone.json"),
                            [AndroidMeasurer("PHONE_A", num_threads=4, warmup=2, runs=7)], "float",
                            {"device": "android: Pixel", "threads": 4}, log=lambda *_: None)
  runs = [c for c in fake_adb.calls(adb_dir) if len(c) == 4 and "--graph=" in c[3]]
  assert set(phone.entries) == keys and len(runs) == 2 * len(keys)  # each op after the canary

  model = TableCostModel(host)
  expected = ExpectedCost(model, space)
  choices = [2, 0, 1, 1, 2, 0]
  assert expected.of_choices(choices) == pytest.approx(model.predict(space.derive(choices)),
                                                       rel=1e-6)
  run = SearchRun(_config(tmp_path / "search", epochs=2, steps_per_epoch=2,
                          ref_latency=model.predict(space.reference_arch())), model,
                  log=lambda *_: None, dataset=synthetic_dataset)
  result = run.run()
  assert int(run.arch_updates.numpy()) > 0
  assert result.predicted_latency == pytest.approx(model.predict(result.config), rel=1e-6)
