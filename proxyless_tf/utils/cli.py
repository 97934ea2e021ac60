"""Runs an absl main so that expected user errors print one line instead of a traceback."""

from __future__ import annotations

import sys

from absl import app, logging

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

  try:
    app.run(wrapped)
  except app.UsageError as e:  # raised by flag validators before main runs
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
