"""Latency that holds on any host: the canary cancels drift, per-kind corrections price ops in
context, noise / drift / bias are told apart, requests relative to the reference net, old
tables without a canary."""

import numpy as np
import pytest

from proxyless_tf.errors import UserError
from proxyless_tf.latency import correction as K
from proxyless_tf.latency import diagnosis as D
from proxyless_tf.latency.builder import build_space_table, checked_error_line
from proxyless_tf.latency.table_space import space_metadata
from proxyless_tf.latency.canary import canary_op
from proxyless_tf.latency.ops import all_space_ops, arch_ops
from proxyless_tf.latency.table import LatencyTable, TableCostModel, load_table
from proxyless_tf.space.space import get_space

SPACE = get_space("tiny")


def true_ms(op) -> float:
  """What an op costs on the fake machine at speed 1 (grows with MACs, never 0)."""
  return 0.01 + op.macs / 1e6


class DriftingMachine:
  """A fake measurer whose clock drifts: every call runs `rate` slower than the one before (the
  machine slowing down over minutes), plus a per-round jitter if asked. Times ops (`op, precision`
  for table builds) and contents (`bytes` for validation: `op:KEY` or `net:NAME`)."""

  def __init__(self, rate=0.002, start=1.0, in_context=None, jitter=0.0, seed=0):
    self.rate, self.speed, self.calls = rate, start, 0
    self.in_context = in_context or {}  # group -> factor an op of that group costs inside a net
    self.jitter = jitter
    self.rng = np.random.default_rng(seed)
    self.nets = {}

  def _tick(self):
    self.calls += 1
    self.speed *= 1 + self.rate
    return self.speed * (1 + self.jitter * self.rng.standard_normal())

  def __call__(self, op, precision="float"):
    value = true_ms(op) * self._tick()
    return {"mean": value, "median": value, "std": 0.0, "count": 30}

  def content(self, content: bytes) -> float:
    kind, name = content.decode().split(":", 1)
    speed = self._tick()
    if kind == "op":
      return true_ms(next(op for op in [canary_op(), *all_space_ops(SPACE)] if op.key == name)) * speed
    fixed = K.fixed_keys_of(SPACE)
    return speed * sum(true_ms(op) * self.in_context.get(K.group_of(op, fixed), 1.0)
                       for op in arch_ops(self.nets[name]))


@pytest.fixture
def fake_exports(monkeypatch):
  """Validation's exports as tags the fake machine reads (no converter: milliseconds a test)."""
  from proxyless_tf.latency import validate
  machine_nets = {}

  def tag(arch, precision, **_):
    machine_nets[arch.name] = arch
    return f"net:{arch.name}".encode()
  monkeypatch.setattr(validate, "arch_tflite", tag)
  from proxyless_tf.latency import op_models
  monkeypatch.setattr(op_models, "op_tflite", lambda op, precision, **_: f"op:{op.key}".encode())
  return machine_nets


def _build(tmp_path, machine, canary=True, name="t.json"):
  meta = {"device": "host: fake", "threads": 1, **space_metadata(SPACE)}
  return build_space_table(SPACE, str(tmp_path / name), [machine], "float", meta,
                           log=lambda *_: None, rounds=3, canary=canary)


def _validate(table, machine, nets, fit, samples=30, rounds=3, seed=1):
  from proxyless_tf.latency.validate import validate_table

  def measure(content):
    return machine.content(content)
  machine.nets = nets
  return validate_table(table, samples, rounds, seed, fit=fit, measure=measure,
                        log=lambda *_: None)


def test_a_drifting_clock_is_cancelled_by_the_canary(tmp_path, fake_exports):
  ops = all_space_ops(SPACE)
  # +0.5% per call: the build's last round runs ~10% slower than its first
  with_canary = _build(tmp_path, DriftingMachine(rate=0.005), name="canary.json")
  without = _build(tmp_path, DriftingMachine(rate=0.005), canary=None, name="plain.json")
  truth = np.array([true_ms(op) for op in ops])
  ratio = lambda t: np.array([t.latency(op.key) for op in ops]) / truth  # noqa: E731
  assert np.ptp(ratio(with_canary)) / np.mean(ratio(with_canary)) < 0.001  # one speed for all
  assert np.ptp(ratio(without)) / np.mean(ratio(without)) > 0.04  # the drift, baked into entries
  assert with_canary.metadata["canary"]["op"] == canary_op().key
  assert load_table(with_canary.path).metadata["canary"]["median_ms"] > 0
  # validated later on a machine 15% slower than at the build, still drifting (+2.4% in the run)
  build_speed = with_canary.metadata["canary"]["median_ms"] / true_ms(canary_op())
  machine = DriftingMachine(rate=0.0005, start=build_speed * 1.15)
  report = _validate(with_canary, machine, fake_exports, fit=False, samples=8)
  assert report["speed_factor"] == pytest.approx(1.15 * 1.012, rel=0.01)
  assert report["all"]["mae_pct"] < 1.0  # at the build's speed: nothing wrong with the table
  assert report["raw"]["mae_pct"] > 10  # ms now: the drift
  assert report["diagnosis"]["drifting"] and not report["diagnosis"]["busy"]


def test_planted_per_kind_factors_are_recovered(tmp_path, fake_exports):
  planted = {"expanded_conv@8": 1.12, "expanded_conv@4": 0.93, "fixed": 1.3}
  X = np.random.default_rng(0).uniform(0.1, 1.0, size=(30, 3))
  y = X @ np.array([planted[g] for g in sorted(planted)])
  assert K.fit_per_kind(X, y, sorted(planted)) == pytest.approx(
      [planted[g] for g in sorted(planted)], rel=1e-4)
  # end to end: nets cost their ops x the factor of their kind and resolution
  table = _build(tmp_path, DriftingMachine(rate=0.0))
  report = _validate(table, DriftingMachine(rate=0.0, in_context=planted), fake_exports, fit=True)
  stored = load_table(table.path).correction
  assert stored["method"] == "per_kind"
  for group, factor in planted.items():
    assert stored["factors"][group] == pytest.approx(factor, rel=0.01)
  assert report["held_out"]["per_kind"] < 0.1 < report["held_out"]["global"]
  assert report["diagnosis"]["biased"]
  # the search's cost model prices each op with its factor: predictions match the nets
  model = TableCostModel(load_table(table.path))
  for arch in list(fake_exports.values())[:5]:
    truth = sum(true_ms(op) * planted.get(K.group_of(op, K.fixed_keys_of(SPACE)), 1.0)
                for op in arch_ops(arch))
    assert model.predict(arch) == pytest.approx(truth, rel=1e-3)


def test_noise_drift_and_bias_are_told_apart(tmp_path, fake_exports):
  table = _build(tmp_path, DriftingMachine(rate=0.0))
  # drift only: the machine 8% slower, nets exactly their ops' sum
  drift = _validate(table, DriftingMachine(rate=0.0, start=1.08), fake_exports, fit=False,
                    samples=8)["diagnosis"]
  assert drift["drifting"] and not drift["biased"] and not drift["busy"]
  assert drift["drift_pct"] == pytest.approx(8.0, abs=0.1)
  # bias only: every net 10% dearer than its ops, at the build's speed, quiet rounds
  bias = _validate(table, DriftingMachine(rate=0.0, in_context={
      "expanded_conv@8": 1.1, "expanded_conv@4": 1.1, "fixed": 1.1}), fake_exports, fit=True)
  d = bias["diagnosis"]
  assert d["biased"] and not d["drifting"] and not d["busy"]
  assert d["bias_pct"] == pytest.approx(-100 / 11, abs=0.2)  # the sum is 1/1.1 of the truth
  assert load_table(table.path).correction["method"] in ("global", "per_kind")
  assert "consistent error" in D.describe(d)
  # noise: rounds disagree by ~8%: busy, and a stored correction is left as it was
  before = load_table(table.path).correction
  noisy = _validate(load_table(table.path), DriftingMachine(rate=0.0, jitter=0.12), fake_exports,
                    fit=True, rounds=5)
  assert noisy["diagnosis"]["busy"] and noisy["noise_pct"] > D.NOISY_PCT
  assert load_table(table.path).correction == before
  # a bias at a 1-2% spread is calibrated away, not refused
  assert not D.diagnose(1.8, 1.0, 0.5, -9.0, 0.5)["busy"]
  assert D.diagnose(1.8, 1.0, 0.5, -9.0, 0.5)["biased"]


def test_a_ratio_request_is_resolved_against_the_reference_net():
  from proxyless_tf.latency.cost_model import ExpectedCost, FlopsCostModel
  from proxyless_tf.search.target_latency import parse_request, resolve_request
  assert parse_request("0.8x") == (0.8, True) and parse_request(" 0.26 ") == (0.26, False)
  assert parse_request(0) == (0.0, False)
  for bad in ("abc", "-1", "0x", "nanx", "1.2.3x"):
    with pytest.raises(UserError, match="--target_latency"):
      parse_request(bad)
  space = get_space("small")
  assert [space.mixed_ops()[0].candidates[i].name for i in space.reference_choices()[:1]] == ["k3_e6"]
  expected = ExpectedCost(FlopsCostModel(), space)
  reference = FlopsCostModel().predict(space.reference_arch())
  request = resolve_request("0.7x", expected, space, "MMACs")
  assert request["target"] == pytest.approx(0.7 * reference)
  assert request["ratio"] == 0.7 and request["reference"] == pytest.approx(reference)
  assert resolve_request(9.5, expected, space, "MMACs")["ratio"] is None
  with pytest.raises(UserError, match=r"5x the reference net = .* outside .*x the reference net"):
    resolve_request("5x", expected, space, "MMACs")
  from proxyless_tf.search.runner import SearchConfig
  config = SearchConfig(out="x", target_latency="0.80X")
  config.validate()
  assert config.target_latency == "0.8x"
  config = SearchConfig(out="x", target_latency="0.26")
  config.validate()
  assert config.target_latency == 0.26


def test_side_by_side_compares_requested_predicted_and_measured():
  from proxyless_tf.latency.side_by_side import compare, describe, time_pair
  table = LatencyTable({"device": "host: fake", "canary": {"op": "k", "median_ms": 2.0}}, {})
  clock = iter(range(100))
  speeds = [1.1 ** (i // 4) for i in range(100)]  # each round 10% slower than the one before

  def measure(content):
    base = {b"net": 0.81, b"ref": 1.0, b"canary": 2.0}[content]
    return base * speeds[next(clock)]
  timed = time_pair(b"net", b"ref", b"canary", rounds=3, measure=measure)
  result = compare(timed, table, predicted=0.8, predicted_reference=1.0,
                   request={"target": 0.8, "ratio": 0.8, "reference": 1.0})
  assert result["measured_ratio"] == pytest.approx(0.81)  # drift cancels side by side
  assert result["speed_factor"] == pytest.approx(1.1, rel=0.01)
  assert result["measured_at_build_ms"] == pytest.approx(0.81)
  assert result["ratio_error_pct"] == pytest.approx(1.25)
  text = describe(result)
  assert "x reference" in text and "within +-3%" in text and "speed factor 1.100" in text


def test_old_tables_without_a_canary_load_and_say_what_they_lack(tmp_path, fake_exports):
  entries = {op.key: {"mean": true_ms(op), "median": true_ms(op), "std": 0.0, "count": 30}
             for op in all_space_ops(SPACE)}
  meta = {"device": "host: fake", "threads": 1, **space_metadata(SPACE),
          "calibration": {"scale": 1.1, "offset": 0.0}}
  path = str(tmp_path / "old.json")
  LatencyTable(meta, entries, path).save()
  table = load_table(path)
  op = all_space_ops(SPACE)[0]
  assert table.latency(op.key) == pytest.approx(true_ms(op))  # the median, as before
  assert table.correction == {"method": "global", "scale": 1.1, "offset": 0.0}
  assert TableCostModel(table).scale == 1.1
  assert "no canary" in checked_error_line(table)
  report = _validate(table, DriftingMachine(rate=0.0), fake_exports, fit=False, samples=6)
  assert report["speed_factor"] is None and not report["has_canary"]
  assert report["diagnosis"]["drift_pct"] is None
  assert "drift not known" in D.describe(report["diagnosis"])
  with pytest.raises(UserError, match="'canary' must be an object"):
    LatencyTable({**meta, "canary": {"median_ms": -1}}, entries, path).save() or load_table(path)
  with pytest.raises(UserError, match="'correction' must be"):
    LatencyTable({**meta, "canary": None, "correction": {"method": "magic"}}, entries,
                 path).save() or load_table(path)


def test_a_derived_net_is_verified_next_to_the_reference_net_on_this_host(tmp_path):
  """The search's last step on a host table: real LiteRT timings of two tiny nets and the canary."""
  from proxyless_tf.latency.side_by_side import verify_on_host
  entries = {op.key: {"mean": true_ms(op), "median": true_ms(op), "std": 0.0, "count": 30,
                      "ratio": true_ms(op) / 0.2, "canary": 0.2} for op in all_space_ops(SPACE)}
  meta = {"device": "host: test", "threads": 1, "precision": "float", **space_metadata(SPACE),
          "canary": {"op": canary_op().key, "median_ms": 0.2}, "depthwise_max_taps": 25}
  model = TableCostModel(LatencyTable(meta, entries, str(tmp_path / "t.json")))
  arch, reference = SPACE.derive([1, 2, 1]), SPACE.reference_arch()
  lines = []
  result = verify_on_host(arch, reference, model, {"target": 0.9 * model.predict(reference),
                                                    "ratio": 0.9, "reference": model.predict(reference)},
                          rounds=2, runs=5, log=lines.append)
  assert result["measured_ms"] > 0 and result["reference_ms"] > 0 and result["speed_factor"] > 0
  assert result["predicted_ratio"] == pytest.approx(model.predict(arch) / model.predict(reference))
  assert result["requested_ratio"] == 0.9 and "ratio_error_pct" in result
  assert "x reference" in lines[-1] and "measured vs requested" in lines[-1]
  assert verify_on_host(arch, reference, TableCostModel(LatencyTable(
      {**meta, "device": "android: Pixel"}, entries)), log=lines.append) is None
