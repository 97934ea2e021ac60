"""The MobileNetV3-like family (`families/mobilenet_v3/`) end to end through the shared pipeline
alone: the published net against Keras's own, a host latency table for its space, a search priced
by that table, the found net trained and exported to TFLite builtin ops (HARD_SWISH, the SE's
MEAN / CONV_2D / MUL), and one-line refusals of bad configs."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from proxyless_tf import litert
from proxyless_tf.arch import get_preset, load_arch
from proxyless_tf.arch.config import ArchConfigError
from proxyless_tf.arch.stats import totals
from proxyless_tf.errors import UserError
from proxyless_tf.families import family_of, read_config
from proxyless_tf.latency.cost_model import ExpectedCost
from proxyless_tf.search.runner import SearchConfig, SearchRun
from proxyless_tf.space.space import get_space


def test_mobilenet_v3_large_counts_as_keras_builds_it():
  config = get_preset("mobilenet_v3_large")
  reference = keras.applications.MobileNetV3Large(weights=None, include_preprocessing=False,
                                                  input_shape=(224, 224, 3))
  assert totals(config)["total_params"] == reference.count_params() == 5_507_432
  assert totals(config)["trainable_params"] == sum(
      int(np.prod(w.shape)) for w in reference.trainable_weights)
  assert sum(b.se for b in config.blocks) == 8 and config.blocks[-1].activation == "hswish"


@pytest.mark.parametrize("change, message", [
    ({"blocks": [{"filters": 16, "activation": "swish"}]}, "'activation' must be one of"),
    ({"blocks": [{"filters": 16, "expand_ratio": 0.5}]}, "'expand_ratio' must be a number"),
    ({"blocks": [{"filters": 24, "stride": 2, "type": "zero"}]}, "a 'zero' block must keep"),
    ({"se_ratio": 0}, "'se_ratio' must be a number"),
    ({"blocks": [{"filters": 16, "se": "yes"}]}, "'se' must be true or false"),
    ({"blocks": [{"filters": 16, "squeeze": True}]}, "unknown key 'squeeze'"),
])
def test_bad_v3_configs_are_refused_in_one_line(change, message):
  data = {"family": "mobilenet_v3", "blocks": [{"filters": 16}], **change}
  with pytest.raises(ArchConfigError, match=message) as info:
    read_config(data)
  assert "\n" not in str(info.value)


def test_v3_space_is_searched_with_a_host_table_then_trained_and_exported(
    tmp_path, synthetic_dataset):
  from proxyless_tf.export.pipeline import export_model
  from proxyless_tf.latency.builder import build_space_table
  from proxyless_tf.latency.measure import HostMeasurer
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.latency.table import TableCostModel, load_table
  from proxyless_tf.latency.table_space import space_from_metadata
  from proxyless_tf.train import train
  space = get_space("tiny_v3")
  keys = {op.key for op in all_space_ops(space)}
  assert {k.split("-")[0] for k in keys} == {"v3_stem", "v3_block", "v3_head"}
  assert any("-se:1-act:hswish-" in k for k in keys)
  table = build_space_table(space, str(tmp_path / "host.json"),
                            [HostMeasurer(num_threads=1, warmup=1, runs=3)], "float",
                            {"device": "host: test", "threads": 1}, log=lambda *_: None)
  assert set(table.entries) == keys and all(e["median"] > 0 for e in table.entries.values())
  assert space_from_metadata(load_table(table.path).metadata) == space
  model = TableCostModel(table)
  choices = [1, 4, 2]  # SE + h-swish, zero, k5 e6 h-swish
  assert ExpectedCost(model, space).of_choices(choices) == pytest.approx(
      model.predict(space.derive(choices)), rel=1e-6)

  config = SearchConfig(out=str(tmp_path / "search"), space="tiny_v3", batch_size=16,
                        valid_per_class=5, warmup_epochs=1, epochs=2, steps_per_epoch=3,
                        arch_update_every=1, checkpoint_every=100, latency_loss="add_linear",
                        ref_latency=model.predict(space.reference_arch()), arch_lr=0.05,
                        input_size=16)
  run = SearchRun(config, model, log=lambda *_: None, dataset=synthetic_dataset)
  before = [p.copy() for p in run.net.probabilities()]
  result = run.run()
  assert any(not np.allclose(a, b) for a, b in zip(before, run.net.probabilities()))
  arch = load_arch(result.arch_path)
  assert family_of(arch).name == "mobilenet_v3" and arch == result.config
  assert json.load(open(result.arch_path))["family"] == "mobilenet_v3"
  assert result.predicted_latency == pytest.approx(model.predict(arch), rel=1e-6)

  # every candidate kind in the trained, exported net: SE and h-swish blocks, and a zero
  arch = space.derive(choices, name="tiny_v3_found")
  trained, history = train(arch, synthetic_dataset, str(tmp_path / "train"), epochs=1,
                           batch_size=16, lr=0.05, momentum=0.9, weight_decay=4e-5,
                           label_smoothing=0.1, verbose=0)
  assert np.isfinite(history["loss"][-1])
  x = synthetic_dataset.test.images[:8].astype(np.float32) / 127.5 - 1
  x = tf.image.resize(x, (16, 16)).numpy()
  results = export_model(trained, str(tmp_path / "export"), ("float", "int8"), x, x,
                         log=lambda *_: None, input_kind="normalized")
  assert all(r.ok for r in results), [r.problem for r in results]
  interpreter = litert.make_interpreter(model_path=results[0].path, xnnpack=False)
  ops = {d["op_name"] for d in interpreter._get_ops_details()}
  assert {"HARD_SWISH", "MEAN", "CONV_2D", "DEPTHWISE_CONV_2D", "MUL"} <= ops, ops
  assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops)
  np.testing.assert_allclose(litert.run(interpreter, x), trained(x, training=False), atol=1e-4)


def test_v3_has_no_original_format_and_says_so(tmp_path):
  config = get_space("tiny_v3").reference_arch()
  with pytest.raises(UserError, match="no original-code config format"):
    family_of(config).to_original(config)


def test_per_kernel_correction_groups_tell_se_blocks_apart_and_keep_other_families_keys():
  """A family names what sets an op's cost in context (`op_variant`): V3 blocks with and without
  SE get their own factors; MBConv groups keep the names the shipped tables' factors carry."""
  from proxyless_tf.latency.correction import group_of
  from proxyless_tf.latency.ops import all_space_ops
  v3 = {group_of(op, frozenset(), "per_kernel") for op in all_space_ops(get_space("tiny_v3"))
        if op.kind == "v3_block"}
  assert "v3_block:k3+se@8" in v3 and "v3_block:k3@8" in v3
  mbconv = {group_of(op, frozenset(), "per_kernel") for op in all_space_ops(get_space("small"))}
  assert "expanded_conv:k3@16" in mbconv and not any("+" in g for g in mbconv)
