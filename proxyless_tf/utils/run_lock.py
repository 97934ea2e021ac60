"""One writer per run directory or table file: an exclusive lock, with the holder's name in it.

Two searches started into the same `--out` (a scheduler retrying a job that still runs, two
terminals) would both pass the "already holds a search" check and interleave their
checkpoints; two table builds into one file would each overwrite the other's entries. The first
command to write takes `flock` on a lock file (`DIR/.lock` for a directory, `FILE.lock` beside a
file) and writes who it is (pid, host, start time) there; a second one gets one line naming the
holder. The kernel drops the lock when its process dies, however it dies, so a lock left by a
killed run is taken over, with a line saying whose it was. Within one process a lock is
re-entrant (the Python API may build several runs on one directory in turn).

`hold_directory` / `hold_file` keep the lock until the process ends (a run, a table build);
`holding_file` only while its block runs (a shared cache: searches read it side by side, one at
a time builds or re-checks it).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import time

from proxyless_tf.errors import UserError

LOCK_NAME = ".lock"
_HELD: dict[str, int] = {}  # realpath of a lock file -> the open, locked file descriptor


def _describe(info: dict) -> str:
  return (f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started "
          f"{info.get('started', '?')}")


def _read(fd: int) -> dict:
  try:
    os.lseek(fd, 0, os.SEEK_SET)
    data = json.loads(os.read(fd, 4096).decode() or "{}")
    return data if isinstance(data, dict) else {}
  except (OSError, ValueError, UnicodeDecodeError):
    return {}


def _take(lock_path: str, name: str, what: str, log, fix: str) -> bool:
  """Locks `lock_path` for this process; False if this process held it already."""
  import fcntl
  key = os.path.realpath(lock_path)
  if key in _HELD:
    return False
  try:
    os.makedirs(os.path.dirname(os.path.abspath(lock_path)), exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
  except OSError as err:
    raise UserError(f"cannot write {name} ({err.strerror or err}); choose a place you can "
                    "write") from None
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = _read(fd)
    os.close(fd)
    raise UserError(f"{name} is being written by another {holder.get('what') or what} "
                    f"({_describe(holder)}); {fix}") from None
  except OSError as err:  # a filesystem without locks
    os.close(fd)
    raise UserError(f"cannot lock {name} ({err.strerror}); put it on a local disk") from None
  previous = _read(fd)
  if previous.get("pid") and (previous.get("pid"), previous.get("host")) != (
      os.getpid(), socket.gethostname()):
    log(f"{name}: taking over the lock of a {previous.get('what') or what} that is gone "
        f"({_describe(previous)})")
  info = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": time.strftime("%Y-%m-%d %H:%M:%S"), "what": what}
  try:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(info) + "\n").encode())
    os.fsync(fd)
  except OSError as err:  # a full disk: the lock holds all the same, unnamed
    log(f"{name}: could not write the lock's holder ({err.strerror})")
  _HELD[key] = fd
  return True


def _release(lock_path: str) -> None:
  fd = _HELD.pop(os.path.realpath(lock_path), None)
  if fd is not None:
    with contextlib.suppress(OSError):
      os.ftruncate(fd, 0)
    os.close(fd)  # closing the descriptor drops the flock


def hold_directory(directory: str, what: str = "run", log=print) -> None:
  """Takes the directory's lock for this process, or raises a UserError naming its holder."""
  _take(os.path.join(directory, LOCK_NAME), directory, what, log,
        "wait for it to end, stop it, or choose another --out")


def hold_file(path: str, what: str = "table build", log=print) -> None:
  """Takes `path`'s lock (`path.lock`) for this process's lifetime."""
  _take(path + ".lock", path, what, log, "wait for it to end, stop it, or choose another --out")


@contextlib.contextmanager
def holding_file(path: str, what: str, log=print, fix: str = "wait for it to end or stop it"):
  """`path`'s lock while the block runs (re-entrant: a lock this process holds stays held)."""
  taken = _take(path + ".lock", path, what, log, fix)
  try:
    yield
  finally:
    if taken:
      _release(path + ".lock")


@atexit.register
def _release_all() -> None:
  """A clean exit leaves empty lock files: only a killed run leaves its name behind."""
  for key in list(_HELD):
    _release(key)
