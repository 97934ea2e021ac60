"""A fake `adb` for tests: records every call and replays recorded `benchmark_model` output.

`install(directory, output_file, devices=...)` writes an executable `adb` into `directory`;
tests put `directory` first on PATH. Calls are appended as JSON lines to `directory/calls.jsonl`.
"""

import json
import os
import stat
import sys

SCRIPT = r'''#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
cfg = json.load(open(os.path.join(here, "fake_adb.json")))
args = sys.argv[1:]
with open(os.path.join(here, "calls.jsonl"), "a") as f:
    f.write(json.dumps(args) + "\n")
serial = None
if args[:1] == ["-s"]:
    serial, args = args[1], args[2:]
if args == ["devices"]:
    print("List of devices attached")
    for d in cfg["devices"]:
        print(d + "\tdevice")
    print()
    sys.exit(0)
if serial is not None and serial not in cfg["devices"]:
    print("adb: device '%s' not found" % serial, file=sys.stderr); sys.exit(1)
if args[0] == "push":
    if not os.path.exists(args[1]):
        print("adb: error: cannot stat '%s': No such file or directory" % args[1], file=sys.stderr)
        sys.exit(1)
    print("%s: 1 file pushed, 0 skipped." % args[1]); sys.exit(0)
if args[0] == "shell":
    command = " ".join(args[1:])
    if command.startswith("getprop"):
        print(cfg["props"].get(command.split()[1], "")); sys.exit(0)
    if command.startswith("md5sum "):
        print("0123456789abcdef0123456789abcdef  " + command.split()[1]); sys.exit(0)
    if command.startswith("ls "):
        target = command.split()[1]
        print(target if cfg.get("has_binary", True) else "ls: %s: No such file or directory" % target)
        sys.exit(0)
    if "benchmark_model" in command and "--graph=" in command:
        outputs = cfg["outputs"]
        index = sum(1 for _ in open(os.path.join(here, "calls.jsonl"))) % len(outputs)
        sys.stdout.write(open(outputs[index]).read()); sys.exit(0)
    sys.exit(0)
print("fake adb: unsupported command %r" % args, file=sys.stderr)
sys.exit(1)
'''


def install(directory, outputs, devices=("FA7AB1A00123",), has_binary=True,
            props=None):
  os.makedirs(directory, exist_ok=True)
  outputs = [outputs] if isinstance(outputs, str) else list(outputs)
  config = {"devices": list(devices), "outputs": [os.path.abspath(o) for o in outputs],
            "has_binary": has_binary,
            "props": props or {"ro.product.model": "Pixel", "ro.board.platform": "msm8996"}}
  with open(os.path.join(directory, "fake_adb.json"), "w") as f:
    json.dump(config, f)
  path = os.path.join(directory, "adb")
  with open(path, "w") as f:
    f.write(SCRIPT.replace("{python}", sys.executable))
  os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
  return path


def calls(directory):
  with open(os.path.join(directory, "calls.jsonl")) as f:
    return [json.loads(line) for line in f]
