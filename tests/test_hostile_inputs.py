"""Issue 12's hostile inputs: every malformed file of the corpus (tests/hostile_inputs.py) is
one clean error and every good one loads; property-based fuzzing of the same readers; a few
of the corpus's bad flags through the real commands."""

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_inputs as corpus
from proxyless_tf.arch import load_arch
from proxyless_tf.families.mbconv.config import ArchConfig, from_dict
from proxyless_tf.families.mbconv.original import from_pytorch_config
from proxyless_tf.errors import UserError
from proxyless_tf.latency.cost_model import ExpectedCost
from proxyless_tf.latency.table import TableCostModel, load_table
from proxyless_tf.latency.targets import cost_model_for_target
from proxyless_tf.space.space import get_space

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one_line(error: Exception) -> bool:
  text = str(error)
  return bool(text) and "\n" not in text


def _outcome(call):
  try:
    call()
    return "ok"
  except UserError as e:
    assert _one_line(e), repr(e)
    return "error"


@pytest.mark.parametrize("group", ["arch", "net.config"])
def test_every_corpus_file_is_a_clean_error_or_loads(tmp_path, group):
  cases = corpus.arch_cases() if group == "arch" else corpus.net_config_cases()
  assert len(cases) > (100 if group == "arch" else 15)
  wrong = []
  for i, (name, raw, bad) in enumerate(cases):
    path = tmp_path / (f"a{i}.json" if group == "arch" else f"proxyless_{i}.config")
    path.write_bytes(raw)
    if _outcome(lambda: load_arch(str(path))) != ("error" if bad else "ok"):
      wrong.append(name)
  assert not wrong, wrong


def _use_table(path):
  model = cost_model_for_target("mobile", path, precision="float", log=lambda *_: None)
  ExpectedCost(model, get_space("tiny").with_task(16, 1, 10))


def test_every_corpus_table_is_a_clean_error_or_loads(tmp_path):
  cases = corpus.table_cases()
  assert len(cases) > 25
  wrong = []
  for i, (name, suffix, raw, bad) in enumerate(cases):
    path = tmp_path / f"t{i}{suffix}"
    path.write_bytes(raw)
    if _outcome(lambda: _use_table(str(path))) != ("error" if bad else "ok"):
      wrong.append(name)
  assert not wrong, wrong


# -- property-based fuzzing: no input makes the readers raise anything but a one-line UserError --

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                        children, max_size=4),
    max_leaves=12)


def _paths(data, prefix=()):
  yield prefix
  if isinstance(data, dict):
    for key, value in data.items():
      yield from _paths(value, prefix + (key,))
  elif isinstance(data, list):
    for i, value in enumerate(data):
      yield from _paths(value, prefix + (i,))


ARCH_PATHS = [p for p in _paths(corpus.BASE_ARCH) if p]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ARCH_PATHS), JSON), min_size=1, max_size=3))
def test_fuzz_arch_mutations(mutations):
  import copy
  data = copy.deepcopy(corpus.BASE_ARCH)
  for path, value in mutations:
    try:
      corpus._set(data, path, value)
    except (KeyError, IndexError, TypeError):
      pass  # an earlier mutation replaced a parent
  try:
    config = from_dict(data)
  except UserError as e:
    assert _one_line(e)
    return
  assert isinstance(config, ArchConfig)
  assert from_dict(json.loads(config.to_json())) == config  # what loads, round-trips


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_fuzz_arbitrary_json_as_arch_and_net_config(data):
  for reader in (from_dict, from_pytorch_config):
    try:
      reader(data)
    except UserError as e:
      assert _one_line(e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["mean", "median", "std", "count", "var", "ratio",
                                        "canary"]), JSON),
       st.one_of(st.none(), JSON, st.dictionaries(st.sampled_from(
           ["canary", "correction", "calibration", "precision"]), JSON | st.dictionaries(
               st.sampled_from(["median_ms", "method", "factors", "fixed_ops", "scale", "offset"]),
               JSON), max_size=3)))
def test_fuzz_table_entries_and_metadata(tmp_path, entry, metadata):
  path = tmp_path / "t.json"
  path.write_text(json.dumps({"metadata": metadata, "entries": {"Conv-k": entry}}))
  try:
    table = load_table(str(path))
  except UserError as e:
    assert _one_line(e)
    return
  value = table.latency("Conv-k")
  assert value >= 0 and value == value  # finite, not negative: what the search may use
  from proxyless_tf.latency.correction import op_factor
  from proxyless_tf.latency.ops import OpSpec
  scale, offset = table.calibration
  factor = op_factor(table.correction, OpSpec("expanded_conv", 8, 8, 8, 3, 6))
  assert scale > 0 and factor > 0 and offset == offset


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_raw_bytes(raw):
  import tempfile
  with tempfile.TemporaryDirectory() as tmp:
    for name in ("a.json", "t.yaml"):
      path = os.path.join(tmp, name)
      with open(path, "wb") as f:
        f.write(raw)
      for reader in (load_arch, load_table):
        try:
          reader(path)
        except UserError as e:
          assert _one_line(e)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["train --export=bogus", "export --check_samples=0",
                                  "latency validate --samples=0", "build_latency_table --rounds=0",
                                  "benchmark --adb <truncated model>"])
def test_corpus_flag_cases_through_the_commands(tmp_path, name):
  (case,) = [c for c in corpus.flag_cases(str(tmp_path)) if c[0] == name]
  proc = subprocess.run([sys.executable, *case[1]], capture_output=True, text=True, cwd=ROOT,
                        timeout=300)
  assert corpus.classify(proc, case[2]) == "clean", proc.stderr[-1500:]


def _tree_base() -> dict:
  from proxyless_tf.families.pyramid_tree.presets import pyramid_tree_net
  return pyramid_tree_net([["sep_7x7", "max_3x3"]] * 3, "fuzz_tree", blocks_per_stage=1, start=8,
                          alpha=8, depth=1, input_size=16, input_channels=1).to_dict()


def _original_base() -> dict:
  from proxyless_tf.families.pyramid_tree.config import tree_from_dict
  from proxyless_tf.families.pyramid_tree.original import to_original
  return to_original(tree_from_dict(_tree_base()))


TREE_PATHS = [p for p in _paths(_tree_base()) if p]
ORIGINAL_TREE_PATHS = [p for p in _paths(_original_base()) if p]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["ours", "original"]), st.data())
def test_fuzz_tree_arch_mutations_in_both_formats(fmt, data):
  """The tree family's readers: a mutated config is a one-line error or a valid config that
  round-trips through both formats."""
  import copy
  from proxyless_tf.families.pyramid_tree.config import TreeNetConfig, tree_from_dict
  from proxyless_tf.families.pyramid_tree.original import from_original, to_original
  base, paths = ((_tree_base(), TREE_PATHS) if fmt == "ours"
                 else (_original_base(), ORIGINAL_TREE_PATHS))
  mutated = copy.deepcopy(base)
  for path, value in data.draw(st.lists(st.tuples(st.sampled_from(paths), JSON), min_size=1,
                                        max_size=3)):
    try:
      corpus._set(mutated, path, value)
    except (KeyError, IndexError, TypeError):
      pass  # an earlier mutation replaced a parent
  reader = tree_from_dict if fmt == "ours" else from_original
  try:
    config = reader(mutated)
  except UserError as e:
    assert _one_line(e), repr(e)
    return
  assert isinstance(config, TreeNetConfig)
  assert tree_from_dict(json.loads(config.to_json())) == config
  assert from_original(to_original(config), name=config.name) == config
