"""Writes that never leave a half-written file behind when a run is killed."""

from __future__ import annotations

import os
import tempfile

# The package's own folder: `flags/` (targets' flag files) and `tables/` (shipped latency tables)
# are package data, found the same in a checkout and in an installed wheel (the checkout's
# top-level `flags` and `tables` are links to them).
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def atomic_write_bytes(path: str, data: bytes) -> None:
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a written table or config is for everyone
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def atomic_write_text(path: str, text: str) -> None:
  atomic_write_bytes(path, text.encode("utf-8"))
