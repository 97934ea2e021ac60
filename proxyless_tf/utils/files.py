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


def set_aside(path: str, why: str, then: str, log=print) -> str:
  """A damaged file a run would resume from, renamed `PATH.unreadable` (kept for a look, out of
  the way of the rerun), with a line saying why and what happens instead. Returns the new name."""
  aside = path + ".unreadable"
  os.replace(path, aside)
  log(f"{path} is unreadable ({why}); set aside as {os.path.basename(aside)}, {then}")
  return aside


def read_json_record(path: str, then: str, check=None, log=print, aside: bool = True):
  """The JSON a resumable step left at `path` (None when there is none). A file that does not
  parse, or that `check(data)` rejects (a message, or None when good), is set aside with a line
  and None is returned: the step redoes what it recorded, `then` says what that is. `aside`
  False (a worker that only reads what its chief writes): None, the file left in place."""
  import json
  if not os.path.exists(path):
    return None
  try:
    with open(path, "rb") as f:
      data = json.loads(f.read().decode("utf-8"))
    problem = check(data) if check is not None else None
  except (OSError, ValueError, UnicodeDecodeError, RecursionError) as err:
    problem = type(err).__name__ if isinstance(err, RecursionError) else (
        getattr(err, "strerror", None) or str(err).splitlines()[0][:120] or type(err).__name__)
  if problem is None:
    return data
  if not aside:
    return None
  set_aside(path, problem, then, log)
  return None


def is_disk_full(err: BaseException) -> bool:
  """A write that failed for lack of space (or quota): Python's OSError, h5py's, TensorFlow's
  ResourceExhaustedError from its C++ file system all say so in their own way."""
  import errno
  if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
    return True
  text = str(err)
  return "No space left on device" in text or "Disk quota exceeded" in text


def disk_full_line(err: BaseException) -> str:
  """The one line for a write that found the disk full."""
  where = getattr(err, "filename", None)
  return (f"no space left on the device{f' writing {where}' if where else ''}: free space (or "
          "choose an --out on a larger disk), then rerun the same command (a search with "
          "--resume); what was completed before is kept")
