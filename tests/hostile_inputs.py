"""The hostile-input corpus of issue 12: malformed arch files, net.configs, latency tables and
flags, each with whether it is bad. `tests/test_hostile_inputs.py` runs the file cases in
process (every one, in CI) and a few flag cases; run this file to push the whole corpus through
the real commands and print the table of outcomes:

  python tests/hostile_inputs.py [--jobs=2] [--publish]

Outcome of a case: `clean` (a bad input refused with one `error:` line, exit 2), `traceback`,
`accepted` (a bad input the command ran with), `ok` (a good input that ran), `refused` (a good
input that was refused: also a failure).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BASE_ARCH = {
    "name": "fuzz_base", "input_size": 32, "input_channels": 1, "num_classes": 10,
    "stem": {"filters": 16, "kernel_size": 3, "stride": 1},
    "blocks": [{"type": "mbconv", "filters": 16, "stride": 1, "kernel_size": 3, "expand_ratio": 1},
               {"type": "zero", "filters": 16, "stride": 1},
               {"type": "mbconv", "filters": 24, "stride": 2, "kernel_size": 5, "expand_ratio": 6}],
    "head": {"filters": 64}, "dropout": 0.1, "bn": {"momentum": 0.9, "epsilon": 0.001},
    "padding": "same"}

# values wrong for every numeric field (and for every string field but the last two)
_BAD_NUMBERS = [None, -1, 10**9, 10**30, True, [], {}, "7", 1e400]
_BAD_STRINGS = [None, 7, True, [], {}]


def _set(data, path, value):
  target = data
  for key in path[:-1]:
    target = target[key]
  target[path[-1]] = value


def _dumps(data) -> bytes:
  return json.dumps(data, allow_nan=True).encode()  # 1e400 -> Infinity: what a hostile file has


def arch_cases() -> list[tuple[str, bytes, bool]]:
  """(name, file bytes, bad) for our arch JSON format."""
  cases = [("valid base", _dumps(BASE_ARCH), False)]
  numeric = [("input_size",), ("input_channels",), ("num_classes",), ("stem", "filters"),
             ("stem", "kernel_size"), ("stem", "stride"), ("head", "filters"), ("dropout",),
             ("bn", "momentum"), ("bn", "epsilon"), ("blocks", 0, "filters"),
             ("blocks", 0, "stride"), ("blocks", 0, "kernel_size"), ("blocks", 0, "expand_ratio"),
             ("blocks", 2, "filters"), ("blocks", 2, "kernel_size"), ("blocks", 2, "expand_ratio")]
  for path in numeric:
    for value in _BAD_NUMBERS:
      data = copy.deepcopy(BASE_ARCH)
      _set(data, path, value)
      cases.append((f"{'.'.join(map(str, path))}={value!r:.20}", _dumps(data), True))
  for path in [("name",), ("padding",), ("blocks", 0, "type")]:
    for value in _BAD_STRINGS + (["../x/net", "a b", ""] if path == ("name",) else ["abc"]):
      data = copy.deepcopy(BASE_ARCH)
      _set(data, path, value)
      cases.append((f"{'.'.join(map(str, path))}={value!r:.20}", _dumps(data), True))
  structural = {
      "not UTF-8": b'{"name": "\xff\xfe"}',
      "100k nested brackets": b"[" * 100000 + b"]" * 100000,
      "5000-digit integer": b'{"input_size": ' + b"9" * 5000 + b"}",
      "NaN literal": _dumps(BASE_ARCH).replace(b'"dropout": 0.1', b'"dropout": NaN'),
      "empty file": b"",
      "truncated": _dumps(BASE_ARCH)[:40],
      "top-level list": b"[]",
      "top-level string": b'"net"',
      "blocks not a list": _dumps({**BASE_ARCH, "blocks": 5}),
      "blocks empty": _dumps({**BASE_ARCH, "blocks": []}),
      "block not an object": _dumps({**BASE_ARCH, "blocks": [3]}),
      "600 blocks": _dumps({**BASE_ARCH, "blocks": [BASE_ARCH["blocks"][0]] * 600}),
      "unknown top key": _dumps({**BASE_ARCH, "extra": 1}),
      "unknown stem key": _dumps({**BASE_ARCH, "stem": {"filters": 16, "filterz": 3}}),
      "unknown head key": _dumps({**BASE_ARCH, "head": {"filters": 64, "kernel_size": 3}}),
      "unknown bn key": _dumps({**BASE_ARCH, "bn": {"eps": 1e-5}}),
      "stem not an object": _dumps({**BASE_ARCH, "stem": 16}),
      "zero block with a kernel": _dumps({**BASE_ARCH, "blocks": [
          BASE_ARCH["blocks"][0], {**BASE_ARCH["blocks"][1], "kernel_size": 3},
          BASE_ARCH["blocks"][2]]}),
      "zero block without a residual": _dumps({**BASE_ARCH, "blocks": [
          {"type": "zero", "filters": 24, "stride": 1}]}),
      "block missing kernel": _dumps({**BASE_ARCH, "blocks": [
          {"type": "mbconv", "filters": 16, "expand_ratio": 1}]}),
      "even kernel": _dumps({**BASE_ARCH, "blocks": [{**BASE_ARCH["blocks"][0], "kernel_size": 4}]}),
      "1e9 classes (params)": _dumps({**BASE_ARCH, "num_classes": 900000,
                                      "head": {"filters": 16000}}),
      "4096 input, 16000-channel stem": _dumps({**BASE_ARCH, "input_size": 4096,
                                                "stem": {"filters": 16000, "stride": 1}}),
  }
  cases += [(name, raw, True) for name, raw in structural.items()]
  return cases


def net_config_cases() -> list[tuple[str, bytes, bool]]:
  """(name, file bytes, bad) for the original code's net.config."""
  sys.path.insert(0, ROOT)
  from proxyless_tf.arch.presets import get_preset
  from proxyless_tf.families.mbconv.original import to_pytorch_config
  base = json.loads(json.dumps(to_pytorch_config(get_preset("proxyless_mobile"))))
  conv = ("blocks", 1, "mobile_inverted_conv")
  mutations = {
      "bn null": (("bn",), None), "blocks 5": (("blocks",), 5),
      "momentum string": (("bn", "momentum"), "fast"), "eps list": (("bn", "eps"), [1]),
      "first_conv null": (("first_conv",), None),
      "out_channels string": (("first_conv", "out_channels"), "32"),
      "kernel [3, 5]": ((*conv, "kernel_size"), [3, 5]),
      "kernel null": ((*conv, "kernel_size"), None),
      "kernel 4": ((*conv, "kernel_size"), 4),
      "expand 0": ((*conv, "expand_ratio"), 0),
      "stride 3": ((*conv, "stride"), 3),
      "conv a list": ((*conv,), []),
      "layer name unknown": ((*conv, "name"), "SepConv"),
      "layer name number": ((*conv, "name"), 7),
      "in_channels mismatch": ((*conv, "in_channels"), 999),
      "classes 1e9": (("classifier", "out_features"), 10**9),
      "classifier string": (("classifier",), "linear"),
      "dropout string": (("classifier", "dropout_rate"), "half"),
      "feature mix missing": (("feature_mix_layer",), None),
  }
  cases = [("valid proxyless_mobile", json.dumps(base).encode(), False)]
  for name, (path, value) in mutations.items():
    data = copy.deepcopy(base)
    _set(data, path, value)
    cases.append((name, json.dumps(data).encode(), True))
  cases.append(("not UTF-8", json.dumps(base).encode().replace(b"ProxylessNASNets", b"\xff"), True))
  return cases


def table_cases() -> list[tuple[str, str, bytes, bool]]:
  """(name, file suffix, bytes, bad) for latency tables; the good ones cover the `tiny` space."""
  sys.path.insert(0, ROOT)
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.space.space import get_space
  keys = [op.key for op in all_space_ops(get_space("tiny"))]
  entries = {k: {"mean": 0.5, "median": 0.5, "std": 0.01, "count": 10} for k in keys}
  good = {"metadata": {"device": "test", "precision": "float"}, "entries": entries}
  first = keys[0]

  def with_entry(**fields):
    data = copy.deepcopy(good)
    data["entries"][first] = {**data["entries"][first], **fields}
    return _dumps(data)

  def with_meta(**fields):
    data = copy.deepcopy(good)
    data["metadata"].update(fields)
    return _dumps(data)

  cases = [("valid", ".json", _dumps(good), False)]
  bad_json = {
      "median fast": with_entry(median="fast"), "median -5": with_entry(median=-5),
      "median NaN": with_entry(median=float("nan")), "mean -1": with_entry(mean=-1),
      "mean missing": _dumps({**good, "entries": {**entries, first: {"median": 1}}}),
      "mean inf": with_entry(mean=1e400), "std -1": with_entry(std=-1),
      "count 2.5": with_entry(count=2.5), "count string": with_entry(count="many"),
      "entry a number": _dumps({**good, "entries": {**entries, first: 3}}),
      "entries a list": _dumps({**good, "entries": []}),
      "calibration scale abc": with_meta(calibration={"scale": "abc"}),
      "calibration scale -1": with_meta(calibration={"scale": -1}),
      "calibration offset NaN": with_meta(calibration={"scale": 1, "offset": float("nan")}),
      "canary median 0": with_meta(canary={"op": "x", "median_ms": 0}),
      "canary a string": with_meta(canary="fast"),
      "ratio -1": with_entry(ratio=-1),
      "correction method magic": with_meta(correction={"method": "magic"}),
      "correction factor -1": with_meta(correction={"method": "per_kind", "factors": {"fixed": -1}}),
      "correction fixed_ops 5": with_meta(correction={"method": "per_kind", "factors": {},
                                                      "fixed_ops": 5}),
      "metadata a list": _dumps({**good, "metadata": []}),
      "precision fp16": with_meta(precision="fp16"),
      "not UTF-8": b'{"entries": {"\xff": 1}}', "truncated": _dumps(good)[:50],
      "partial garbage": _dumps({**good, "partial": {first: 5}}),
      "missing op": _dumps({**good, "entries": {k: v for k, v in entries.items() if k != first}}),
      "int8 table for a float search": with_meta(precision="int8"),
  }
  cases += [(name, ".json", raw, True) for name, raw in bad_json.items()]
  yaml_good = "".join(f"{k}: {{count: 10, mean: 0.5, var: 0.0001}}\n" for k in keys)
  cases.append(("yaml valid", ".yaml", yaml_good.encode(), False))
  cases += [(name, ".yaml", raw.encode() if isinstance(raw, str) else raw, True) for name, raw in {
      "yaml count many": yaml_good.replace("count: 10", "count: many", 1),
      "yaml mean string": yaml_good.replace("mean: 0.5", "mean: fast", 1),
      "yaml var -1": yaml_good.replace("var: 0.0001", "var: -1", 1),
      "yaml a list": "- 1\n- 2\n", "yaml broken": "{a: [", "yaml not UTF-8": b"a: \xff\n",
  }.items()]
  return cases


def flag_cases(tmp: str) -> list[tuple[str, list[str], bool]]:
  """(name, command after `python`, bad). Commands that would run long get --max_steps etc."""
  existing_file = os.path.join(tmp, "a_file")
  open(existing_file, "w").close()
  damaged = os.path.join(tmp, "damaged", "checkpoints")  # checkpoint files, garbage, no config
  os.makedirs(damaged, exist_ok=True)
  for name in ("ckpt-5.index", "ckpt-5.data-00000-of-00001", "checkpoint"):
    with open(os.path.join(damaged, name), "wb") as f:
      f.write(b"\x00garbage")
  s = ["-m", "proxyless_tf.search", "--target=flops", "--space=tiny", "--max_steps=1",
       "--latency_loss=add_linear", "--ref_latency=0.1", f"--out={tmp}/search"]
  t = ["-m", "proxyless_tf.train", "--arch=mobilenet_v2", "--max_train_examples=64",
       f"--out={tmp}/train"]
  e = ["-m", "proxyless_tf.export", "--arch=mobilenet_v2", "--input_size=32", "--num_classes=10",
       "--quantize=float", f"--out={tmp}/export"]
  v = ["-m", "proxyless_tf.latency", "validate",
       f"--table={ROOT}/tables/host_small_float_t1.json"]
  b = ["-m", "proxyless_tf.tools.build_latency_table", "--space=tiny", f"--out={tmp}/table.json"]
  return [
      ("search --input_size=-16", s + ["--input_size=-16"], True),
      ("search --out=<a file>", s[:-1] + [f"--out={existing_file}"], True),
      ("search --resume over a damaged run", s + ["--resume", f"--out={tmp}/damaged"], True),
      ("search --batch_size=0", s + ["--batch_size=0"], True),
      ("search --ref_latency=-1", s + ["--ref_latency=-1"], True),
      ("search --lr=nan", s + ["--lr=nan"], True),
      ("search --target_latency=-1", s + ["--target_latency=-1"], True),
      ("search --epochs=abc", s + ["--epochs=abc"], True),
      ("search --space=huge", s + ["--space=huge"], True),
      ("search --bogus_flag", s + ["--bogus_flag=1"], True),
      ("search --latency_table=<missing>", s + ["--target=mobile", "--latency_table=/nope.json"],
       True),
      ("train --epochs=-1", t + ["--epochs=-1"], True),
      ("train --batch_size=0", t + ["--batch_size=0"], True),
      ("train --export=bogus", t + ["--export=bogus"], True),
      ("train --label_smoothing=2", t + ["--label_smoothing=2"], True),
      ("train --arch=<missing>", t + ["--arch=/nope.json"], True),
      ("export --calibration_samples=-1", e + ["--calibration_samples=-1"], True),
      ("export --check_samples=0", e + ["--check_samples=0"], True),
      ("export --quantize=fp4", e + ["--quantize=fp4"], True),
      ("export --signature_batch=-3", e + ["--signature_batch=-3"], True),
      ("export --min_quantized_agreement=2", e + ["--min_quantized_agreement=2"], True),
      ("latency validate --samples=0", v + ["--samples=0"], True),
      ("latency validate --rounds=0", v + ["--rounds=0"], True),
      ("build_latency_table --rounds=0", b + ["--rounds=0"], True),
      ("build_latency_table --runs=-5", b + ["--runs=-5"], True),
      ("build_latency_table --self_check_samples=2", b + ["--self_check_samples=2"], True),
      ("benchmark --adb <truncated model>",
       ["-m", "proxyless_tf.benchmark", existing_file, "--adb"], True),
      ("benchmark --runs=0", ["-m", "proxyless_tf.benchmark", existing_file, "--runs=0"], True),
      ("arch show --width=-1", ["-m", "proxyless_tf.arch", "show", "mobilenet_v2", "--width=-1"],
       True),
      ("arch show (valid)", ["-m", "proxyless_tf.arch", "show", "mobilenet_v2"], False),
      ("search (valid, 1 step)", s, False),
  ]


def classify(proc: subprocess.CompletedProcess, bad: bool) -> str:
  if "Traceback" in proc.stderr:
    return "traceback"
  if proc.returncode == 0:
    return "accepted" if bad else "ok"
  errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
  if bad and proc.returncode == 2 and len(errors) == 1:
    return "clean"
  return "refused" if not bad else "unclear"


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--jobs", type=int, default=2)
  parser.add_argument("--publish", action="store_true", help="write the table to BENCHMARKS.md")
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as tmp:
    runs = []
    for group, cases, command in (
        ("arch JSON (`arch show`)", arch_cases(), lambda p: ["-m", "proxyless_tf.arch", "show", p]),
        ("PyTorch net.config (`arch show`)", net_config_cases(),
         lambda p: ["-m", "proxyless_tf.arch", "show", p])):
      for i, (name, raw, bad) in enumerate(cases):
        path = os.path.join(tmp, f"{group[:4]}_{i}.json")
        with open(path, "wb") as f:
          f.write(raw)
        runs.append((group, name, command(path), bad))
    for i, (name, suffix, raw, bad) in enumerate(table_cases()):
      path = os.path.join(tmp, f"table_{i}{suffix}")
      with open(path, "wb") as f:
        f.write(raw)
      runs.append(("latency tables (`search --target=mobile --space=tiny`)", name,
                   ["-m", "proxyless_tf.search", "--target=mobile", "--space=tiny",
                    "--dataset=fashion_mnist_local", "--batch_size=16", "--steps_per_epoch=2",
                    f"--latency_table={path}", "--max_steps=1", "--ref_latency=0.5",
                    "--latency_loss=add_linear", f"--out={tmp}/s{i}"], bad))
    runs += [("flags", name, cmd, bad) for name, cmd, bad in flag_cases(tmp)]

    def run(item):
      group, name, cmd, bad = item
      proc = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, cwd=ROOT,
                            timeout=600, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
      return group, name, bad, classify(proc, bad), proc.stderr.strip().splitlines()[-1:] or [""]

    with ThreadPoolExecutor(args.jobs) as pool:
      results = list(pool.map(run, runs))
  groups = list(dict.fromkeys(r[0] for r in results))
  lines = ["## Hostile inputs (issue 12): every corpus case through the real commands", "",
           f"Command: `python tests/hostile_inputs.py --jobs={args.jobs} --publish`  ",
           f"{time.strftime('%Y-%m-%d')}. Bad inputs must end in one `error:` line and exit 2; "
           "good ones (the first case of each file group, and two flag cases) must run.", "",
           "| inputs tried | clean one-line error | good input ran | traceback | bad input "
           "accepted | good input refused / unclear |", "|---|---:|---:|---:|---:|---:|"]
  for group in groups:
    rows = [r for r in results if r[0] == group]
    count = lambda *kinds: sum(r[3] in kinds for r in rows)  # noqa: E731
    lines.append(f"| {len(rows)} {group} | {count('clean')} | {count('ok')} | "
                 f"{count('traceback')} | {count('accepted')} | {count('refused', 'unclear')} |")
  failures = [f"- {outcome}: {group}: {name}: {last[0][:160]}"
              for group, name, bad, outcome, last in results if outcome not in ("clean", "ok")]
  lines += [""] + (failures or ["No traceback, no bad input accepted, no good input refused."])
  if args.publish:
    from proxyless_tf.utils.sections import write_section
    print("\n".join(lines))
    write_section("hostile_inputs", "\n".join(lines), os.path.join(ROOT, "BENCHMARKS.md"))
  else:
    print("\n".join(lines))


if __name__ == "__main__":
  main()
