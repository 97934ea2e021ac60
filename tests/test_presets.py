import json

import numpy as np
import pytest

from proxyless_tf.arch import get_preset, preset_names
from proxyless_tf.families.mbconv.original import from_pytorch_config, to_pytorch_config
from proxyless_tf.arch.stats import totals

# the MobileNetV2-style presets (proxyless_cifar, a tree-cell net, has tests/test_tree_arch.py)
MOBILENET_FAMILY = sorted(n for n in preset_names() if getattr(get_preset(n), "family", None) is None)

# Released models (ProxylessNAS paper / net.config files): parameters and multiply-adds at 224.
PUBLISHED = {
    "proxyless_mobile": (4.08e6, 320.4e6),
    "proxyless_cpu": (4.36e6, 439.2e6),
    "proxyless_gpu": (7.12e6, 465.3e6),
    "mobilenet_v2": (3.50e6, 300.8e6),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_params_and_macs(name):
  params, macs = PUBLISHED[name]
  t = totals(get_preset(name))
  assert round(t["trainable_params"] / 1e4) == round(params / 1e4)
  assert abs(t["macs"] - macs) < 0.05e6


@pytest.mark.parametrize("name", MOBILENET_FAMILY)
def test_built_model_matches_counted_params(name):
  from proxyless_tf.model import build_model
  config = get_preset(name)
  model = build_model(config)
  t = totals(config)
  assert model.count_params() == t["total_params"]
  trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
  assert trainable == t["trainable_params"]
  assert tuple(model.output.shape) == (None, 1000)


def test_mobilenet_v2_equals_keras_applications():
  import keras
  from proxyless_tf.model import build_model
  ours = build_model(get_preset("mobilenet_v2"))
  theirs = keras.applications.MobileNetV2(weights=None)
  assert ours.count_params() == theirs.count_params() == 3_538_984
  trainable = lambda m: sum(int(np.prod(v.shape)) for v in m.trainable_weights)  # noqa: E731
  assert trainable(ours) == trainable(theirs) == 3_504_872


@pytest.mark.parametrize("name", MOBILENET_FAMILY)
def test_presets_build_for_small_tasks(name):
  from proxyless_tf.model import build_model
  config = get_preset(name).with_io(input_size=32, input_channels=1, num_classes=10)
  model = build_model(config)
  out = model(np.zeros((2, 32, 32, 1), np.float32), training=False)
  assert out.shape == (2, 10)


@pytest.mark.parametrize("name", MOBILENET_FAMILY)
def test_pytorch_net_config_round_trip(name):
  config = get_preset(name)
  exported = json.loads(json.dumps(to_pytorch_config(config)))
  assert exported["name"] == "ProxylessNASNets"
  assert exported["bn"]["momentum"] == pytest.approx(0.1)
  back = from_pytorch_config(exported, name=config.name)
  # net.config describes PyTorch layers: it reads back with PyTorch's padding
  assert back == config.replace(padding="symmetric")
  assert back.padding == "symmetric"
  assert config.padding == ("same" if name == "mobilenet_v2" else "symmetric")


def test_pytorch_zero_block_and_shortcut_layout():
  exported = to_pytorch_config(get_preset("proxyless_mobile"))
  block3 = exported["blocks"][3]
  assert block3["mobile_inverted_conv"] == {"name": "ZeroLayer", "stride": 1}
  assert block3["shortcut"]["name"] == "IdentityLayer"
  assert exported["blocks"][1]["shortcut"] is None  # stride 2
  assert exported["blocks"][1]["mobile_inverted_conv"]["in_channels"] == 16
