"""The PyramidTreeNet family: the published Proxyless-G CIFAR net, its formats, its validation and
each edge op against a NumPy reference."""

import json
import os

import numpy as np
import pytest

from proxyless_tf.arch import ArchConfigError, get_preset, load_arch, save_arch
from proxyless_tf.arch.stats import format_table, totals
from proxyless_tf.families.pyramid_tree.config import (EDGE_OPS, Edge, Node, TreeBlock, TreeNetConfig, binary_cell,
                                    cell_ops, parse_op, pyramid_widths, tree_from_dict)
from proxyless_tf.families.pyramid_tree.original import from_original, to_original
from proxyless_tf.families.pyramid_tree.presets import pyramid_tree_net

HERE = os.path.dirname(__file__)
SHARED = os.path.join(HERE, "..", "..", "shared", "data", "proxyless_cifar.config")
TINY = os.path.join(HERE, "data", "pytorch_tree", "tiny_tree.config")


def test_published_net_counts_equal_the_original_pytorch_model():
  """5,731,530 parameters and 5,849,634 with BN statistics: what the original code's
  PyramidTreeNet.build_from_config(proxyless_cifar.config) has (sum of numel over parameters()
  and over the state dict without num_batches_tracked, torch 2.13 CPU)."""
  config = get_preset("proxyless_cifar")
  t = totals(config)
  assert (t["trainable_params"], t["total_params"]) == (5_731_530, 5_849_634)
  assert len(config.blocks) == 54 and [b.stride for b in config.blocks].count(2) == 2
  assert [b.width for b in config.blocks][:4] == [18, 18, 20, 22] and config.head_filters == 400
  table = format_table(config)
  assert "stage 3" in table and "5,731,530 trainable" in table


@pytest.mark.skipif(not os.path.exists(SHARED), reason="the released config is not beside the repo")
def test_released_config_loads_as_the_preset_and_writes_back_identically():
  with open(SHARED) as f:
    released = json.load(f)
  config = load_arch(SHARED)
  assert config.replace(name="proxyless_cifar") == get_preset("proxyless_cifar")
  assert to_original(config) == released


def test_keras_model_has_the_counted_parameters_and_round_trips():
  import keras
  from proxyless_tf.model import arch_from_model, build_model
  config = load_arch(TINY)
  model = build_model(config)
  trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
  total = sum(int(np.prod(v.shape)) for v in model.weights)
  assert (trainable, total) == (totals(config)["trainable_params"], totals(config)["total_params"])
  restored = keras.Model.from_config(model.get_config())
  assert arch_from_model(restored) == config
  restored.set_weights(model.get_weights())
  x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype(np.float32)
  np.testing.assert_allclose(restored(x, training=False), model(x, training=False), atol=1e-5)


def test_json_round_trips_in_both_formats(tmp_path):
  config = load_arch(TINY)
  path = str(tmp_path / "arch.json")
  save_arch(config, path)
  assert load_arch(path) == config
  assert from_original(to_original(config), name=config.name) == config
  assert tree_from_dict(json.loads(config.to_json())) == config


def test_binary_cell_shape_and_widths():
  cell = binary_cell(10, 2, EDGE_OPS[:7] + EDGE_OPS[:7])
  assert len(cell.edge_list()) == 15 and cell_ops(cell) == list(EDGE_OPS[:7] + EDGE_OPS[:7])
  assert cell.edges[0].filters == 20 and cell.edges[0].stride == 2
  assert cell.edges[0].child.split == "split" and cell.edges[0].child.branch_bn
  assert pyramid_widths(6, 8, 12) == [10, 12, 14, 16, 18, 20]
  with pytest.raises(ArchConfigError, match="14 searchable edges"):
    binary_cell(10, 1, EDGE_OPS)


def _tiny_dict():
  return json.loads(load_arch(TINY).to_json())


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["blocks"][0]["cell"]["edges"][0].update(op="sep_4x4"), "must be odd"),
    (lambda d: d["blocks"][0]["cell"]["edges"][0].update(op="wavelet"), "unknown op"),
    (lambda d: d["blocks"][0]["cell"]["edges"][0].update(op="conv_3x3_g3"), "divisible by 3"),
    (lambda d: d["blocks"][0]["cell"]["edges"][0]["child"]["edges"][0].update(op="max_3x3",
                                                                              filters=3),
     "keeps its input"),
    (lambda d: d["blocks"][0]["cell"]["edges"][0]["child"]["edges"][0].update(op="identity",
                                                                              stride=2),
     "identity cannot have stride"),
    (lambda d: d["blocks"][1].update(stride=2), "put the stride on the cell"),
    (lambda d: d["blocks"][0].update(width=12), "the block's width is 12"),
    (lambda d: d["blocks"][1].update(filters=4), "below its input"),
    (lambda d: d["blocks"][0]["cell"]["edges"][0]["child"].update(merge=None),
     "exactly one edge"),
    (lambda d: d["blocks"][0]["cell"]["edges"][0]["child"].update(merge="mean"), "'merge'"),
    (lambda d: d.update(input_size=30), "divisible by 4"),
    (lambda d: d["blocks"][0].update(colour="red"), "unknown field"),
    (lambda d: d.update(family="mobilenet"), "family"),
])
def test_bad_configs_are_one_clear_line(edit, message):
  data = _tiny_dict()
  edit(data)
  with pytest.raises(ArchConfigError, match=message) as e:
    tree_from_dict(data)
  assert "\n" not in str(e.value)


def test_bad_original_configs_are_one_clear_line():
  with open(TINY) as f:
    original = json.load(f)
  broken = json.loads(json.dumps(original))
  broken["blocks"][1]["cell"]["edges"][0]["has_shuffle"] = False
  with pytest.raises(ArchConfigError, match="without channel shuffle"):
    from_original(broken)
  broken = json.loads(json.dumps(original))
  broken["blocks"][1]["cell_drop_rate"] = 0.2
  with pytest.raises(ArchConfigError, match="cell_drop_rate"):
    from_original(broken)
  broken = json.loads(json.dumps(original))
  broken["blocks"][2]["cell"]["child_nodes"][0]["edges"][0]["ops_order"] = "weight_bn_act"
  with pytest.raises(ArchConfigError, match="ops_order"):
    from_original(broken)


# -- each edge op against NumPy ------------------------------------------------------------------

def _np_conv(x, w, stride=1, dilation=1, groups=1, pad=0):
  """x (H, W, C), w (k, k, C / groups, O), PyTorch padding on both sides."""
  x = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
  k = w.shape[0]
  span = dilation * (k - 1) + 1
  out_h = (x.shape[0] - span) // stride + 1
  out_w = (x.shape[1] - span) // stride + 1
  cin, cout = w.shape[2], w.shape[3]
  y = np.zeros((out_h, out_w, cout))
  for g in range(groups):
    xs = x[:, :, g * cin:(g + 1) * cin]
    ws = w[:, :, :, g * (cout // groups):(g + 1) * (cout // groups)]
    for i in range(k):
      for j in range(k):
        patch = xs[i * dilation:i * dilation + stride * out_h:stride,
                   j * dilation:j * dilation + stride * out_w:stride]
        y[:, :, g * (cout // groups):(g + 1) * (cout // groups)] += patch @ ws[i, j]
  return y


def _np_pool(x, kind, k):
  pad = k // 2
  h, w, _ = x.shape
  y = np.zeros_like(x)
  for i in range(h):
    for j in range(w):
      window = x[max(i - pad, 0):i + pad + 1, max(j - pad, 0):j + pad + 1]
      y[i, j] = window.max((0, 1)) if kind == "max" else window.mean((0, 1))  # valid pixels only
  return y


def _np_shuffle(y, groups):
  c = y.shape[-1]
  return y.reshape(*y.shape[:2], groups, c // groups).swapaxes(2, 3).reshape(y.shape)


@pytest.mark.parametrize("op, filters, stride", [
    ("sep_3x3", None, 1), ("sep_5x5", 6, 1), ("sep_7x7", None, 1), ("sep_3x3_d2", None, 1),
    ("sep_3x3", None, 2), ("conv_1x1", 6, 1), ("conv_3x3_g2", 8, 2), ("identity", None, 1),
    ("max_3x3", None, 1), ("avg_3x3", None, 1), ("avg_2x2", None, 2)])
def test_edge_op_matches_numpy(op, filters, stride):
  from proxyless_tf.families.pyramid_tree.layers import PreActOp
  rng = np.random.default_rng(1)
  x = rng.normal(size=(1, 8, 8, 4)).astype(np.float32)
  layer = PreActOp(op, filters, stride)
  layer.build(x.shape)
  for v in layer.weights:
    v.assign(rng.uniform(0.5, 1.5, v.shape).astype(np.float32) if "variance" in v.path
             else rng.normal(size=v.shape).astype(np.float32) * 0.5)
  got = np.asarray(layer(x, training=False))[0]
  spec = parse_op(op)
  h = x[0].astype(np.float64)
  if layer.bn is not None:
    gamma, beta, mean, var = (np.asarray(w) for w in layer.bn.get_weights())
    h = (h - mean) / np.sqrt(var + layer.bn.epsilon) * gamma + beta
  if layer.relu:
    h = np.maximum(h, 0)
  pad = spec.dilation * (spec.kernel_size // 2)
  if spec.kind == "sep":
    dw = np.asarray(layer.depthwise.kernel)  # (k, k, C, 1): one group per channel
    want = _np_conv(h, dw.transpose(0, 1, 3, 2), stride, spec.dilation, groups=4, pad=pad)
    want = _np_conv(want, np.asarray(layer.conv.kernel))
  elif spec.kind == "conv":
    want = _np_conv(h, np.asarray(layer.conv.kernel), stride, 1, spec.groups, pad)
    if spec.groups > 1:
      want = _np_shuffle(want, spec.groups)
  elif spec.kind == "pool" and stride == 1:
    want = _np_pool(h, spec.pool_type, spec.kernel_size)
  elif spec.kind == "pool":
    want = h.reshape(4, 2, 4, 2, 4).mean((1, 3))
  else:
    want = h
  assert got.shape == want.shape == (*layer.compute_output_shape(x.shape)[1:],)
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_tree_nodes_split_add_and_branch_bn_match_numpy():
  """A split node with branch BN over identity edges, one of them with a copy/add child."""
  from proxyless_tf.families.pyramid_tree.layers import TreeCell
  child = Node(edges=(Edge("identity"), Edge("max_3x3")), split="copy", merge="add")
  node = Node(edges=(Edge("identity", child=child), Edge("identity")), split="split",
              merge="add", branch_bn=True)
  x = np.random.default_rng(2).normal(size=(1, 6, 6, 4)).astype(np.float32)
  cell = TreeCell(node.to_dict(), bn_epsilon=1e-5)
  cell.build(x.shape)
  bns = []
  for i, bn in enumerate(cell.branch_bns):
    weights = [np.full(2, 1.0 + i), np.full(2, 0.5), np.full(2, 0.1 * i), np.full(2, 2.0)]
    bn.set_weights([w.astype(np.float32) for w in weights])
    bns.append(weights)
  got = np.asarray(cell(x, training=False))[0]

  def bn(v, w):
    return (v - w[2]) / np.sqrt(w[3] + 1e-5) * w[0] + w[1]
  a, b = x[0, ..., :2], x[0, ..., 2:]
  branch_a = bn(a + _np_pool(a, "max", 3), bns[0]) + a
  branch_b = bn(b, bns[1]) + b
  np.testing.assert_allclose(got, branch_a + branch_b, rtol=1e-5, atol=1e-5)


def test_small_search_shaped_nets_build_from_the_preset_builder():
  cells = [["sep_3x3"] * 6 for _ in range(3)]
  config = pyramid_tree_net(cells, "small_tree", blocks_per_stage=1, start=8, alpha=8, depth=2,
                            input_channels=1)
  assert isinstance(config, TreeNetConfig) and isinstance(config.blocks[0], TreeBlock)
  assert [b.stride for b in config.blocks] == [1, 2, 2] and config.final_resolution == 8
