"""The shipped Pixel-1 table (`tables/pixel1_tunas_proxyless_224.json`) is TuNAS's linear latency
model of the ProxylessNAS space, converted exactly: checked here against a direct evaluation of
that model (TuNAS's one-hot features . kernel + bias, written from TuNAS's definition, using the
raw coefficients the table keeps in its metadata) and against TuNAS's own unit-test value."""

import base64
import os
import subprocess
import sys

import numpy as np
import pytest

from proxyless_tf.latency.cost_model import ExpectedCost
from proxyless_tf.latency.table import TableCostModel, load_table
from proxyless_tf.space.space import get_space

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "tables", "pixel1_tunas_proxyless_224.json")
KERNELS, EXPANDS = (3, 5, 7), (3, 6)

# TuNAS `mobile_cost_model_test.py::test_estimate_cost_integration_test`: 84 +- 1 ms
TUNAS_REFERENCE_INDICES = [
    0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 2, 1, 0, 1, 1, 0, 2, 1, 0, 2, 1, 0, 0, 1, 1, 0, 0, 0, 0,
    1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 1, 0, 0, 0]


def _tunas_model():
  meta = load_table(TABLE).metadata["tunas_model"]
  return np.array(meta["kernel"]), meta["bias"]


def _direct(layers, first_kernel=3):
  """TuNAS's estimate: features = first block kernel one-hot, then per layer a one-hot over
  (kernel x expansion), kernel-major, plus one more slot for `zero` where it can be skipped.
  `layers`: (kernel, expand, skipped, skippable) per searchable layer."""
  kernel, bias = _tunas_model()
  features = list(np.eye(3)[KERNELS.index(first_kernel)])
  for k, e, skipped, skippable in layers:
    conv = np.zeros(6)
    if not skipped:
      conv[KERNELS.index(k) * 2 + EXPANDS.index(e)] = 1
    features += list(conv) + ([float(skipped)] if skippable else [])
  return float(np.dot(features, kernel) + bias)


def _layers_from_tunas_indices(indices):
  """TuNAS visits OneOfs children-first: per block its layers' (kernel, expansion, op) then the
  block's filters; stem and head blocks only filters; the separable-conv block op + filters."""
  it = iter(indices)
  next(it)  # stem filters
  first_kernel = KERNELS[next(it)]
  next(it)
  layers = []
  for depth in (4, 4, 4, 4, 4, 1):
    for j in range(depth):
      k, e, op = next(it), next(it), next(it)
      layers.append((KERNELS[k], EXPANDS[e], op == 1, j > 0))
    next(it)
  next(it)  # head filters
  assert next(it, None) is None
  return first_kernel, layers


def _choices(space, layers):
  out = []
  for spec, (k, e, skipped, _) in zip(space.mixed_ops(), layers):
    names = [c.name for c in spec.candidates]
    out.append(names.index("zero") if skipped else names.index(f"k{k}_e{e}"))
  return out


def test_reproduces_tunas_reference_value():
  first_kernel, layers = _layers_from_tunas_indices(TUNAS_REFERENCE_INDICES)
  assert first_kernel == 3  # our space fixes the first block at k3: the reference is in it
  space = get_space("proxyless_tunas")
  predicted = TableCostModel(load_table(TABLE)).predict(space.derive(_choices(space, layers)))
  assert abs(predicted - 84.0) <= 1.0
  assert predicted == pytest.approx(_direct(layers), rel=1e-9)


def test_equals_direct_evaluation_on_random_architectures():
  space = get_space("proxyless_tunas")
  model = TableCostModel(load_table(TABLE))
  expected = ExpectedCost(model, space)
  rng = np.random.default_rng(0)
  values = []
  for _ in range(200):
    layers = []
    for spec in space.mixed_ops():
      skippable = any(c.is_zero for c in spec.candidates)
      skipped = skippable and rng.random() < 0.3
      layers.append((int(rng.choice(KERNELS)), int(rng.choice(EXPANDS)), skipped, skippable))
    choices = _choices(space, layers)
    want = _direct(layers)
    assert model.predict(space.derive(choices)) == pytest.approx(want, rel=1e-9)
    assert expected.of_choices(choices) == pytest.approx(want, rel=1e-6)
    values.append(want)
  assert np.std(values) > 5  # the architectures really differ


def test_table_is_additive_and_non_negative():
  table = load_table(TABLE)
  assert all(e["mean"] >= 0 for e in table.entries.values())
  derived = table.metadata["derived_from"]
  assert "google-research" in derived["repository"] and derived["search_space"] == "proxylessnas_search"


def test_converter_reads_tunas_file_as_data(tmp_path):
  """The converter parses TuNAS's file (nothing in it runs) and rebuilds the shipped entries."""
  kernel, bias = _tunas_model()
  b64 = lambda a: base64.encodebytes(np.asarray(a, ">f4").tobytes()).decode()  # noqa: E731
  marker = tmp_path / "ran"
  data = tmp_path / "cost_model_data.py"
  data.write_text(f'import os\nos.system("touch {marker}")\n'
                  f'_PROXYLESSNAS_SEARCH_KERNEL = b"""\n{b64(kernel)}"""\n'
                  f'_PROXYLESSNAS_SEARCH_BIAS = b"""\n{b64([bias])}"""\n'
                  "SERIALIZATION_DTYPE = '>f4'\nKERNEL_DATA = {'x': _PROXYLESSNAS_SEARCH_KERNEL}\n")
  out = tmp_path / "table.json"
  result = subprocess.run([sys.executable, "-m", "proxyless_tf.tools.convert_tunas_cost_model",
                           f"--tunas_data={data}", f"--out={out}"], capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-1500:]
  assert not marker.exists()
  shipped, rebuilt = load_table(TABLE).entries, load_table(str(out)).entries
  assert set(shipped) == set(rebuilt)
  for key in shipped:
    assert rebuilt[key]["mean"] == pytest.approx(shipped[key]["mean"], abs=1e-9)
  bad = subprocess.run([sys.executable, "-m", "proxyless_tf.tools.convert_tunas_cost_model",
                        f"--tunas_data={tmp_path / 'missing.py'}", f"--out={out}"],
                       capture_output=True, text=True, timeout=300)
  assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_mobile_target_defaults_to_the_tunas_table():
  flags = open(os.path.join(ROOT, "flags", "mobile.flags")).read()
  assert "--space=proxyless_tunas" in flags
  assert "--latency_table=tables/pixel1_tunas_proxyless_224.json" in flags
  from proxyless_tf.latency.targets import cost_model_for_target
  lines = []
  model = cost_model_for_target("mobile", "tables/pixel1_tunas_proxyless_224.json", log=lines.append)
  model.prepare(get_space("proxyless_tunas"))
  assert model.notice is None or "ESTIMATE" not in model.notice
  assert any("TuNAS" in line for line in lines)
