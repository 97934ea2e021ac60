"""Reading JSON a user hands us: every way a file can be wrong is one UserError line.

`json.loads` alone lets through NaN / Infinity (not JSON, but Python accepts them) and raises
UnicodeDecodeError, RecursionError (deep nesting) or ValueError (a number of thousands of digits)
as tracebacks. Files larger than any config or table we write are refused before being read.
"""

from __future__ import annotations

import json
import os
from typing import Any

from proxyless_tf.errors import UserError

MAX_BYTES = 64 * 1024 * 1024  # a latency table of the largest space is ~100 KB


def _no_constants(name: str):
  raise ValueError(f"{name} is not a JSON number; write a finite number")


def parse_json(raw: bytes | str, source: str, error: type[UserError] = UserError) -> Any:
  if isinstance(raw, bytes):
    try:
      raw = raw.decode("utf-8")
    except UnicodeDecodeError as e:
      raise error(f"{source}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                  "save it as UTF-8 JSON") from None
  try:
    return json.loads(raw, parse_constant=_no_constants)
  except json.JSONDecodeError as e:
    raise error(f"{source}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
  except RecursionError:
    raise error(f"{source}: nested too deeply to be a config or table") from None
  except ValueError as e:  # NaN / Infinity, or an integer of thousands of digits
    raise error(f"{source}: not valid JSON ({str(e).splitlines()[0][:120]})") from None


def read_bytes(path: str, what: str, error: type[UserError] = UserError) -> bytes:
  """The file's bytes, or one line saying why it cannot be read as `what`."""
  if not os.path.exists(path):
    raise error(f"{what} {path} does not exist")
  if os.path.isdir(path):
    raise error(f"{what} {path} is a directory, expected a file")
  size = os.path.getsize(path)
  if size > MAX_BYTES:
    raise error(f"{what} {path} is {size / 2**20:.0f} MiB, larger than any valid one "
                f"({MAX_BYTES // 2**20} MiB); is it the right file?")
  try:
    with open(path, "rb") as f:
      return f.read()
  except OSError as e:
    raise error(f"{what} {path} cannot be read ({e.strerror})") from None


def read_json(path: str, what: str, error: type[UserError] = UserError) -> Any:
  return parse_json(read_bytes(path, what, error), path, error)
