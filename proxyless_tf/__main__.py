"""`proxyless_tf COMMAND [--flags]` (the console script of an install), or `python -m proxyless_tf`.

Each command is the module `python -m proxyless_tf.COMMAND` runs; `proxyless_tf COMMAND --help`
lists its flags.
"""

from __future__ import annotations

import runpy
import sys

COMMANDS = {
    "specialize": "the whole job: search -> retrain -> export -> verify -> benchmark -> report",
    "search": "architecture search on a dataset for a hardware target",
    "train": "retrain an architecture from scratch (and export it)",
    "export": "Keras model -> SavedModel + TFLite (float, dynamic, int8), checked against Keras",
    "arch": "show / convert / draw architecture files",
    "latency": "check a latency table against whole networks",
}


def usage() -> str:
  width = max(map(len, COMMANDS))
  lines = ["usage: proxyless_tf COMMAND [--flags]   (proxyless_tf COMMAND --help for its flags)",
           ""]
  lines += [f"  {name:<{width}}  {what}" for name, what in COMMANDS.items()]
  return "\n".join(lines)


def main(argv=None) -> None:
  argv = sys.argv[1:] if argv is None else list(argv)
  if not argv or argv[0] in ("-h", "--help", "help"):
    print(usage())
    sys.exit(0)
  command = argv[0]
  if command not in COMMANDS:
    print(f"error: unknown command {command!r}; one of {', '.join(COMMANDS)}", file=sys.stderr)
    sys.exit(2)
  sys.argv = [f"proxyless_tf {command}", *argv[1:]]
  runpy.run_module(f"proxyless_tf.{command}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
  main()
