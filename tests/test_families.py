"""The contract every registered family keeps with the shared pipeline (`families/`): checked
over every family and every search space, so a new family is held to it by being registered."""

import json

import numpy as np
import pytest

from proxyless_tf.arch import get_preset, load_arch, save_arch
from proxyless_tf.arch.stats import totals
from proxyless_tf.errors import UserError
from proxyless_tf.families import all_presets, all_spaces, families, family_of, read_config
from proxyless_tf.latency.ops import all_space_ops, arch_ops

SPACES = sorted(all_spaces())
# Supernets are built for every space but the paper's CIFAR one (756 mixed ops: ~1 minute to
# create its variables on 2 cores); `small_tree` is the same builder at 2 blocks per stage.
SUPERNET_SPACES = [name for name in SPACES if len(all_spaces()[name].mixed_ops()) <= 100]


def test_every_family_is_registered_with_its_hooks():
  names = [family.name for family in families()]
  assert names[0] == "mbconv" and "pyramid_tree" in names and len(set(names)) == len(names)
  for family in families():
    # a PyTorch weight scheme and an original-code format are optional (mobilenet_v3 has none)
    assert family.op_kinds and family.table_space_fields
    assert family.spaces(), family.name
    for space in family.spaces().values():
      assert family_of(space) is family
    for make in family.presets().values():
      assert family_of(make()) is family


@pytest.mark.parametrize("name", SPACES)
def test_space_table_ops_cover_every_derived_net(name):
  """The latency table built for a space prices every net derived from it."""
  space = all_spaces()[name]
  keys = {op.key for op in all_space_ops(space)}
  rng = np.random.default_rng(0)
  decisions = space.mixed_ops()
  for _ in range(3):
    choices = [int(rng.integers(len(d.candidates))) for d in decisions]
    net = space.derive(choices)
    assert family_of(net) is family_of(space)
    missing = {op.key for op in arch_ops(net)} - keys
    assert not missing, sorted(missing)[:3]


@pytest.mark.parametrize("name", SPACES)
def test_derived_configs_round_trip_through_json_and_files(name, tmp_path):
  space = all_spaces()[name]
  net = space.derive([0] * len(space.mixed_ops()))
  assert read_config(json.loads(net.to_json())) == net
  save_arch(net, str(tmp_path / "arch.json"))
  assert load_arch(str(tmp_path / "arch.json")) == net


@pytest.mark.parametrize("name", sorted(all_presets()))
def test_presets_round_trip_and_build_with_their_counted_params(name, tmp_path):
  from proxyless_tf.model import arch_from_model, build_model
  config = get_preset(name)
  assert read_config(json.loads(config.to_json())) == config
  # the original code's format round-trips itself (it cannot say everything ours does: an MBConv
  # net.config implies PyTorch's symmetric padding); a family without one says so in one line
  if family_of(config).pytorch_schemes:
    original = family_of(config).to_original(config)
    again = read_config(json.loads(json.dumps(original)), name=config.name)
    assert family_of(again) is family_of(config)
    assert family_of(again).to_original(again) == original
  else:
    with pytest.raises(UserError, match="no original-code config format"):
      family_of(config).to_original(config)
  model = build_model(config)
  assert model.count_params() == totals(config)["total_params"]
  assert arch_from_model(model) == config


@pytest.mark.parametrize("name", SUPERNET_SPACES)
def test_supernet_has_one_mixed_op_per_decision(name):
  from proxyless_tf.supernet.supernet import build_supernet
  space = all_spaces()[name]
  if space.input_size > 64:  # the ImageNet spaces: the same builder at a smaller input
    space = space.with_task(input_size=64)
  net = build_supernet(space)
  decisions = space.mixed_ops()
  assert len(net.mixed_ops) == len(decisions)
  for op, decision in zip(net.mixed_ops, decisions):
    assert [c.to_config() for c in op.candidates] == [c.to_config() for c in decision.candidates]


@pytest.mark.parametrize("name", SPACES)
def test_every_op_of_a_space_has_a_key_macs_and_phone_estimate_features(name):
  """Each family prices its own ops: a table key, MACs, and the phone estimate's features (MACs,
  bytes moved, TFLite layers), so `--target=mobile` without a table prices any family's net."""
  from proxyless_tf.latency.estimate import arch_features, op_features
  space = all_spaces()[name]
  for op in all_space_ops(space):
    features = op_features(op)  # an identity edge or a pool has no MACs (a pool: taps instead)
    assert op.key.startswith(op.kind) and op.macs >= 0 and features[0] >= op.macs
    assert features[1] > 0 and features[2] >= 1
  net = space.reference_arch()
  assert arch_features(net)[0] >= totals(net)["macs"] > 0
