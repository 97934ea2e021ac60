"""A quiet console: native (C++) output of TensorFlow and the TFLite converter kept off the screen.

TensorFlow writes its oneDNN / CUDA probe lines to file descriptor 2 before its logging is set up,
where `TF_CPP_MIN_LOG_LEVEL` does not reach, and the converter prints MLIR diagnostics with C
`printf`. Python-level redirection (`contextlib.redirect_stdout`) cannot catch either, so this
swaps the file descriptors themselves for a temporary file while such code runs, and replays what
was captured if that code raises (nothing that explains a failure is lost).
`PROXYLESS_TF_VERBOSE=1` turns all of it off.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


def verbose() -> bool:
  return os.environ.get("PROXYLESS_TF_VERBOSE", "") not in ("", "0")


@contextlib.contextmanager
def native_output_captured(fds=(1, 2)):
  """Sends what native code writes to `fds` to a temporary file; replays it on an exception."""
  if verbose():
    yield
    return
  for stream in (sys.stdout, sys.stderr):
    stream.flush()
  saved = {fd: os.dup(fd) for fd in fds}
  with tempfile.TemporaryFile() as captured:
    for fd in fds:
      os.dup2(captured.fileno(), fd)
    failed = False
    try:
      yield
    except BaseException:
      failed = True
      raise
    finally:
      for stream in (sys.stdout, sys.stderr):
        stream.flush()
      for fd, copy in saved.items():
        os.dup2(copy, fd)
        os.close(copy)
      if failed:
        captured.seek(0)
        sys.stderr.write(captured.read().decode(errors="replace"))


def import_tensorflow_quietly() -> None:
  """Imports TensorFlow with its start-up lines captured (replayed if the import fails). Where
  TensorFlow is not installed this does nothing: what needs it says so when it is used."""
  if "tensorflow" in sys.modules:
    return
  import importlib.util
  try:
    if importlib.util.find_spec("tensorflow") is None:
      return
  except (ImportError, ValueError):
    return
  with native_output_captured(fds=(2,)):
    import tensorflow  # noqa: F401
