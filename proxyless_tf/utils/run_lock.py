"""One writer per run directory: an exclusive lock held for the process's lifetime.

Two searches started into the same `--out` (a scheduler retrying a job that still runs, two
terminals) would both pass the "already holds a search" check and interleave their
checkpoints. The first command to write a directory takes `flock` on `DIR/.lock` and writes who
it is (pid, host, start time) there; a second one gets one line naming the holder. The kernel
drops the lock when its process dies, however it dies, so a lock left by a killed run is taken
over, with a line saying whose it was. Within one process the lock is re-entrant (the Python
API may build several runs on one directory in turn).
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import time

from proxyless_tf.errors import UserError

LOCK_NAME = ".lock"
_HELD: dict[str, int] = {}  # realpath of a directory -> the open, locked file descriptor


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


def hold_directory(directory: str, what: str = "run", log=print) -> None:
  """Takes the directory's lock for this process, or raises a UserError naming its holder."""
  import fcntl
  key = os.path.realpath(directory)
  if key in _HELD:
    return
  try:
    os.makedirs(directory, exist_ok=True)
    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
  except OSError as err:
    raise UserError(f"cannot write --out {directory} ({err.strerror or err}); choose a directory "
                    "you can write") from None
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = _read(fd)
    os.close(fd)
    raise UserError(f"{directory} is being written by another {what} ({_describe(holder)}); "
                    "wait for it to end, stop it, or choose another --out") from None
  except OSError as err:  # a filesystem without locks
    os.close(fd)
    raise UserError(f"cannot lock {directory} ({err.strerror}); put --out on a local disk") from None
  previous = _read(fd)
  if previous.get("pid") and (previous.get("pid"), previous.get("host")) != (
      os.getpid(), socket.gethostname()):
    log(f"{directory}: taking over the lock of a {what} that is gone ({_describe(previous)})")
  info = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": time.strftime("%Y-%m-%d %H:%M:%S"), "what": what}
  os.ftruncate(fd, 0)
  os.lseek(fd, 0, os.SEEK_SET)
  os.write(fd, (json.dumps(info) + "\n").encode())
  os.fsync(fd)
  _HELD[key] = fd


@atexit.register
def _release_all() -> None:
  """A clean exit leaves an empty lock file: only a killed run leaves its name behind."""
  for fd in _HELD.values():
    try:
      os.ftruncate(fd, 0)
      os.close(fd)
    except OSError:
      pass
  _HELD.clear()
