"""Runs an absl main so that expected user errors (and a full disk) print one line instead of a
traceback."""

from __future__ import annotations

import sys

from absl import app, flags, logging

from proxyless_tf.errors import UserError


def run_main(main, expected_errors: tuple[type[BaseException], ...] = ()) -> None:
  """`absl.app.run(main)`, turning UserError (and `expected_errors`) into `error: ...` + exit 2."""
  errors = (UserError, app.UsageError, *expected_errors)

  def wrapped(argv):
    logging.set_verbosity(logging.WARNING)
    try:
      return main(argv)
    except errors as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)
    except Exception as e:  # a full disk is the machine's state, not a bug: one line
      from proxyless_tf.utils.files import disk_full_line, is_disk_full
      if not is_disk_full(e):
        raise
      print(f"error: {disk_full_line(e)}", file=sys.stderr)
      sys.exit(2)

  try:
    app.run(wrapped, flags_parser=_parse_flags)
  except app.UsageError as e:  # raised by flag validators before main runs
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)


HELP_FLAGS = ("--help", "-help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml")


def _parse_flags(argv):
  """absl's parser, but a bad flag (unknown, out of bounds, not a number) is one `error:` line
  and exit 2 instead of absl's FATAL banner and exit 1."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  except SystemExit as e:  # absl exits 1 after printing --help: asking for help is no error
    if e.code == 1 and any(a.split("=")[0] in HELP_FLAGS for a in argv[1:]):
      sys.exit(0)
    raise


def command_line() -> str:
  """This process's command as a user would retype it: `python -m MODULE ARGS` when it runs as a
  module (what files record as the command that made them), else its argv."""
  import __main__
  spec = getattr(__main__, "__spec__", None)
  if spec is not None and spec.name:
    name = spec.name[:-len(".__main__")] if spec.name.endswith(".__main__") else spec.name
    return " ".join([f"python -m {name}", *sys.argv[1:]])
  return " ".join(sys.argv)
