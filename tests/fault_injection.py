"""The fault-injection suite of issue 25: runs killed at many points, the files they leave
truncated or corrupted, two writers on one directory, a disk that fills up; then resumed.

Every case must end either *identical* to an uninterrupted run (the same architecture and
history, the same trained weights, the same table entries) or in a *clean* stop (one line, a
UserError, or a full disk, which the commands print as one `error:` line) that keeps the newest
checkpoint it found (or a newer one). Anything else is a failure: `traceback` (any other
exception), `loss` (a clean stop that left no checkpoint as new as the newest it found),
`differs` (resumed but not identical), `not reached` (the injected kill never fired: the case
proved nothing).

Kills are injected in process: a `Killed` exception (a BaseException, which nothing in the
package catches) raised at the k-th call of a chosen function: a checkpoint save, a file
rename, an op measurement. `tests/test_fault_injection.py` runs the short form in CI; run this
file for the full form, which adds real SIGKILLs of the commands at random times, two commands
started at once and a real small filesystem:

  python tests/fault_injection.py [--seed=0] [--kills=8] [--publish]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
for _path in (ROOT, TESTS):
  if _path not in sys.path:
    sys.path.insert(0, _path)

OUTCOMES = ("identical", "clean", "traceback", "loss", "differs", "not reached")
GOOD = ("identical", "clean")


class Killed(BaseException):
  """A kill at an injected point. Only `finally` blocks run after it, and the package's write
  there atomically, as the rest do, so what is on disk is what a SIGKILL at that point leaves
  or a state a SIGKILL a moment later leaves."""


@contextlib.contextmanager
def patched(owner, name: str, make: Callable):
  original = getattr(owner, name)
  setattr(owner, name, make(original))
  try:
    yield
  finally:
    setattr(owner, name, original)


def kill_at(owner, name: str, k: int, after: bool = False):
  """Raises Killed at the k-th call of `owner.name`, before it runs (or just `after`)."""
  def make(original):
    calls = [0]

    def wrapper(*args, **kwargs):
      calls[0] += 1
      if calls[0] == k and not after:
        raise Killed(f"{name} #{k}")
      result = original(*args, **kwargs)
      if calls[0] == k and after:
        raise Killed(f"after {name} #{k}")
      return result
    return wrapper
  return lambda: patched(owner, name, make)


def fail_at(owner, name: str, k: int, error: Callable[[], BaseException]):
  """The k-th call of `owner.name` raises `error()` (a full disk) instead of running."""
  def make(original):
    calls = [0]

    def wrapper(*args, **kwargs):
      calls[0] += 1
      if calls[0] == k:
        raise error()
      return original(*args, **kwargs)
    return wrapper
  return lambda: patched(owner, name, make)


def enospc(path: str = "") -> OSError:
  return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path or None)


# -- what is done to a stopped run's files -------------------------------------------------------

def truncate(relative: str, size: int = 100):
  def damage(out):
    for path in _matching(out, relative):
      with open(path, "r+b") as f:
        f.truncate(min(size, os.path.getsize(path)))
  return damage


def garbage(relative: str):
  def damage(out):
    for path in _matching(out, relative):
      size = max(16, os.path.getsize(path))
      with open(path, "wb") as f:
        f.write(random.Random(size).randbytes(size))
  return damage


def delete(relative: str):
  def damage(out):
    for path in _matching(out, relative):
      os.remove(path) if os.path.isfile(path) else shutil.rmtree(path)
  return damage


def write(relative: str, data: bytes):
  def damage(out):
    path = os.path.join(out, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
      f.write(data)
  return damage


def both(*damages):
  def damage(out):
    for d in damages:
      d(out)
  return damage


def _matching(out: str, relative: str) -> list[str]:
  """`relative` may name the newest checkpoint as {newest}/{second} (of checkpoints/ckpt-N or
  backup/epoch-N) and hold * as a shell pattern does."""
  folder, name = os.path.split(relative)
  where = os.path.join(out, folder)
  if "{" in name:
    numbers = sorted({int(n.split("-")[1].split(".")[0]) for n in os.listdir(where)
                      if n.split("-")[0] in ("ckpt", "epoch") and n.split("-")[1].split(".")[0]
                      .isdigit()}, reverse=True)
    name = name.format(newest=numbers[0], second=numbers[1])
  found = sorted(glob.glob(os.path.join(glob.escape(where), name)))
  if not found:
    raise FileNotFoundError(f"no {relative} in {out}")
  return found


_HOLD = ("import sys, time; from proxyless_tf.utils.run_lock import hold_directory; "
         "hold_directory(sys.argv[1], sys.argv[2]); print('held', flush=True); time.sleep(600)")
_HOLDERS: list[subprocess.Popen] = []


def held_by_another(what: str, alive: bool = True):
  """Another process holds the directory's lock (a second writer), or held it and was killed."""
  def damage(out):
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, out, what], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    while holder.stdout.readline().strip() != "held":  # after its "taking over" line
      assert holder.poll() is None, "the holding process died"
    if alive:
      _HOLDERS.append(holder)
    else:
      holder.send_signal(signal.SIGKILL)
      holder.wait()
  return damage


def _release_holders() -> None:
  while _HOLDERS:
    holder = _HOLDERS.pop()
    holder.send_signal(signal.SIGKILL)
    holder.wait()


# -- the cases -----------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
  """`damage(out)` applies to a copy of the family's stopped run; `kill()` is a context active
  during a run from scratch, which must end in Killed; `fault()` (a full disk) is active during
  the resume, which must then stop cleanly, and a resume after it must end identical."""
  family: str
  name: str
  damage: Callable[[str], None] | None = None
  kill: Callable | None = None
  fault: Callable | None = None
  expect: str = "identical"  # what this package does: resume identical, or stop clean
  short: bool = True  # in the CI form


def search_cases() -> list[Case]:
  import tensorflow as tf
  from proxyless_tf.search.runner import SearchRun
  newest, second = "checkpoints/ckpt-{newest}", "checkpoints/ckpt-{second}"
  disk_full = lambda: tf.errors.ResourceExhaustedError(  # noqa: E731: TensorFlow's own words
      None, None, "checkpoints/ckpt-16_temp/part-00000-of-00001; No space left on device")
  return [
      Case("search", "newest data shard cut to 100 bytes", truncate(newest + ".data-*")),
      Case("search", "two newest checkpoints broken",
           both(truncate(newest + ".data-*"), garbage(second + ".index")), short=False),
      Case("search", "every index broken", garbage("checkpoints/ckpt-*.index"), expect="clean"),
      Case("search", "checkpoint state file garbage", garbage("checkpoints/checkpoint")),
      Case("search", "search_config.json cut short", truncate("search_config.json", 30),
           expect="clean"),
      Case("search", "history.json cut short", truncate("history.json", 50)),
      Case("search", "a second writer holds the directory", held_by_another("search"),
           expect="clean"),
      Case("search", "the lock of a killed writer", held_by_another("search", alive=False),
           short=False),
      Case("search", "kill at rename 3", kill=kill_at(os, "replace", 3)),
      # step 12 ends epoch 2 and is a checkpoint step: once a checkpoint before the epoch's row
      Case("search", "kill after checkpoint 4 (step 12, an epoch's end)",
           kill=kill_at(SearchRun, "save", 4, True)),
      Case("search", "disk full writing a checkpoint",
           fault=fail_at(tf.train.CheckpointManager, "save", 1, disk_full)),
      # the full form adds
      Case("search", "newest data shard garbage", garbage(newest + ".data-*"), short=False),
      Case("search", "newest data shard deleted", delete(newest + ".data-*"), short=False),
      Case("search", "second newest data deleted", delete(second + ".data-*"), short=False),
      Case("search", "newest index cut to 10 bytes", truncate(newest + ".index", 10),
           short=False),
      Case("search", "newest index garbage", garbage(newest + ".index"), short=False),
      Case("search", "newest index deleted", delete(newest + ".index"), short=False),
      Case("search", "checkpoint state file deleted", delete("checkpoints/checkpoint"),
           short=False),
      Case("search", "half-written checkpoint folder left", write(
          "checkpoints/ckpt-16_temp/part-00000-of-00001.data-00000-of-00001", b"\0" * 64),
           short=False),
      Case("search", "search_config.json deleted", delete("search_config.json"),
           expect="clean", short=False),
      Case("search", "search_config.json garbage", garbage("search_config.json"),
           expect="clean", short=False),
      Case("search", "history.json deleted", delete("history.json"), short=False),
      Case("search", "history.json garbage", garbage("history.json"), short=False),
      Case("search", "arch.json garbage", garbage("arch.json"), short=False),
      Case("search", "arch.json deleted", delete("arch.json"), short=False),
      Case("search", "lock file garbage", garbage(".lock"), short=False),
      Case("search", "left temporary file of a write", write(".tmp-xyzhistory.json", b"[{"),
           short=False),
      *[Case("search", f"kill after checkpoint {k}", kill=kill_at(SearchRun, "save", k, True),
             short=False) for k in (1, 2, 3, 5)],
      Case("search", "kill before checkpoint 3", kill=kill_at(SearchRun, "save", 3),
           short=False),
      *[Case("search", f"kill at rename {k}", kill=kill_at(os, "replace", k), short=False)
        for k in (1, 2, 4, 5, 6)],
      Case("search", "disk full writing history.json",
           fault=fail_at(os, "replace", 1, lambda: enospc("history.json")), short=False),
  ]


def train_cases() -> list[Case]:
  from proxyless_tf.train.backup import EpochBackup
  newest, second = "backup/epoch-{newest}", "backup/epoch-{second}"
  return [
      Case("train", "newest weights cut to 100 bytes", truncate(newest + ".weights.h5")),
      Case("train", "newest weights deleted", delete(newest + ".weights.h5")),
      Case("train", "newest record garbage", garbage(newest + ".json")),
      Case("train", "newest record deleted (weights kept)", delete(newest + ".json")),
      Case("train", "newest record of another epoch",
           write("backup/epoch-3.json", b'{"epoch": 2, "history": {}}')),
      Case("train", "every checkpoint broken",
           both(garbage(newest + ".weights.h5"), truncate(second + ".json", 5)), expect="clean"),
      Case("train", "left temporary weights of a kill",
           write("backup/.tmp-epoch-9.weights.h5", b"\x89HDF\r\n")),
      Case("train", "kill after epoch 1", kill=kill_at(EpochBackup, "on_epoch_end", 1, True)),
      Case("train", "kill at rename 4 (epoch 2's record)", kill=kill_at(os, "replace", 4)),
      Case("train", "disk full writing an epoch record",
           fault=fail_at(os, "replace", 2, lambda: enospc("epoch-4.json"))),
      Case("train", "a second writer holds the directory", held_by_another("training"),
           expect="clean"),
      Case("train", "the lock of a killed writer", held_by_another("training", alive=False)),
      # the full form adds
      *[Case("train", f"kill after epoch {k}", kill=kill_at(EpochBackup, "on_epoch_end", k, True),
             short=False) for k in (2, 3)],
      # per epoch: its weights, its record; then model.keras and model.weights.h5
      *[Case("train", f"kill at rename {k}", kill=kill_at(os, "replace", k), short=False)
        for k in (1, 2, 3, 7, 8, 9, 10)],
  ]


def table_cases() -> list[Case]:
  import fake_measure
  return [
      *[Case("table", f"kill at measurement {k} of 20", kill=kill_at(fake_measure, "fake_entry", k))
        for k in (1, 7, 11, 17, 20)],
      Case("table", "kill at the table's first rename", kill=kill_at(os, "replace", 1)),
      Case("table", "partial rounds garbage", _edit_table(lambda d: d.update(partial=[7]))),
      Case("table", "partial rounds deleted", _edit_table(lambda d: d.pop("partial"))),
      Case("table", "an entry garbage", _edit_table(
          lambda d: d["entries"].update({next(iter(d["entries"])): "fast"})), expect="clean"),
      Case("table", "table cut short", truncate("table.json", 200), expect="clean"),
      Case("table", "table garbage", garbage("table.json"), expect="clean"),
      Case("table", "disk full saving the table",
           fault=fail_at(os, "replace", 1, lambda: enospc("table.json"))),
  ]


def _edit_table(edit):
  def damage(out):
    path = os.path.join(out, "table.json")
    with open(path) as f:
      data = json.load(f)
    edit(data)
    with open(path, "w") as f:
      json.dump(data, f)
  return damage


# -- the runs each family resumes ----------------------------------------------------------------

def _digests(folder: str) -> dict[str, str]:
  """Every file under `folder` (relative path -> sha256), what a clean stop must leave alone."""
  found = {}
  for top, _, names in os.walk(folder):
    for name in names:
      path = os.path.join(top, name)
      with open(path, "rb") as f:
        found[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
  return found


def _stop(run, kill) -> None:
  """Runs `run` under `kill`, which must fire: the stopped run the damage cases start from."""
  try:
    with kill():
      run()
  except Killed:
    return
  raise AssertionError("the stopped run of a family ran to its end: its kill never fired")


_NUMBERED = re.compile(r"(?:ckpt|epoch)-(\d+)\.")


def _lost(before: dict[str, str], after: dict[str, str]) -> bool:
  """Whether a stop lost work: the newest checkpoint it found (ckpt-N, epoch-N) is gone or
  changed with nothing newer in its place (the rotation that drops the oldest when a new one
  is written loses nothing), or a file without a number (a table) changed."""
  def numbers(names):
    return {int(m.group(1)) for name in names if (m := _NUMBERED.search(os.path.basename(name)))}
  found = numbers(before)
  if not found:
    return any(after.get(name) != digest for name, digest in before.items())
  kept = {name for name, digest in before.items() if after.get(name) == digest}
  return max(numbers(kept | (set(after) - set(before))), default=-1) < max(found)


class SearchFamily:
  """A tiny search (3 epochs of 6 steps, checkpoints every 4): stopped at step 13 for the damage
  cases; compared on arch.json and history.json. `shared`: conftest's TinySearch, whose two runs
  of the same config stand in for the uninterrupted and the stopped run."""

  checkpoints = "checkpoints"

  def __init__(self, root: str, shared=None):
    from conftest import make_synthetic_dataset
    self.dataset = make_synthetic_dataset()
    if shared is not None:
      assert shared.STOPPED_AT == 13
      self.reference = self._outputs(str(shared.whole))
      self.stopped = str(shared.stopped)
      return
    self.reference = self.run(os.path.join(root, "whole"), resume=False)
    self.stopped = os.path.join(root, "stopped")
    self.run(self.stopped, resume=False, max_steps=13)

  def run(self, out: str, resume: bool, max_steps: int | None = None):
    from conftest import tiny_search_config
    from proxyless_tf.latency.cost_model import FlopsCostModel
    from proxyless_tf.search.runner import SearchRun
    config = tiny_search_config(out, max_steps=max_steps or 0)
    SearchRun(config, FlopsCostModel(), log=lambda *_: None, dataset=self.dataset).run(
        resume=resume)
    return self._outputs(out)

  @staticmethod
  def _outputs(out: str):
    with open(os.path.join(out, "arch.json")) as f, open(os.path.join(out, "history.json")) as g:
      return f.read(), g.read()


class TrainFamily:
  """Retraining a small net 4 epochs: stopped after epoch 3 (backup holds epochs 2 and 3);
  compared on the history and every trained weight."""

  checkpoints = "backup"

  def __init__(self, root: str):
    from conftest import make_synthetic_dataset
    from proxyless_tf.arch import ArchConfig, Block
    self.data = make_synthetic_dataset(per_class=12, size=16)
    self.arch = ArchConfig(name="tiny", input_size=16, input_channels=1, num_classes=10,
                           stem_filters=8, head_filters=16,
                           blocks=(Block(8, 1, 3, 1), Block(16, 2, 5, 3),
                                   Block(16, 1, type="zero")))
    self.reference = self.run(os.path.join(root, "whole"), resume=False)
    self.stopped = os.path.join(root, "stopped")
    from proxyless_tf.train.backup import EpochBackup
    _stop(lambda: self.run(self.stopped, resume=False),
          kill_at(EpochBackup, "on_epoch_end", 3, after=True))

  def run(self, out: str, resume: bool):
    from proxyless_tf.train import train
    with contextlib.redirect_stdout(open(os.devnull, "w")):
      model, history = train(self.arch, self.data, out, epochs=4, batch_size=16, lr=0.05,
                             momentum=0.9, weight_decay=4e-5, label_smoothing=0.1, verbose=0)
    return json.dumps(history), [w.tobytes() for w in model.get_weights()]


class TableFamily:
  """A two-round table of the tiny space (10 ops) with a deterministic stand-in measurer:
  stopped at the 13th of its 20 measurements; compared on its entries."""

  checkpoints = "."

  def __init__(self, root: str):
    self.reference = self.run(os.path.join(root, "whole"), resume=False)
    self.stopped = os.path.join(root, "stopped")
    _stop(lambda: self.run(self.stopped, resume=False),
          kill_at(sys.modules["fake_measure"], "fake_entry", 13))

  def run(self, out: str, resume: bool):
    import fake_measure
    from proxyless_tf.latency.builder import build_space_table
    from proxyless_tf.space.space import get_space
    space = get_space("tiny").with_task(16, 1, 10)
    with contextlib.redirect_stderr(open(os.devnull, "w")):
      table = build_space_table(space, os.path.join(out, "table.json"),
                                [lambda op, p: fake_measure.fake_entry(op, p)], "float",
                                {"device": "host: fake", "threads": 1}, log=lambda *_: None,
                                rounds=2, canary=None)
    return json.dumps(table.entries, sort_keys=True), json.dumps(table.partial)


FAMILIES = {"search": SearchFamily, "train": TrainFamily, "table": TableFamily}


@dataclasses.dataclass
class Result:
  family: str
  name: str
  outcome: str
  detail: str = ""


def _attempt(family, out: str) -> tuple[str, str]:
  """(outcome, detail) of resuming `out`: identical / differs, clean, or traceback."""
  from proxyless_tf.errors import UserError
  from proxyless_tf.utils.files import is_disk_full
  import traceback
  try:
    got = family.run(out, resume=True)
  except UserError as err:
    line = str(err)
    return ("clean" if line and "\n" not in line else "traceback"), line
  except Exception as err:  # noqa: BLE001: what the suite counts
    if is_disk_full(err):
      return "clean", f"(disk full) {str(err).splitlines()[0] if str(err) else err!r}"
    return "traceback", traceback.format_exc(limit=-3).strip().splitlines()[-1]
  return ("identical" if got == family.reference else "differs"), ""


def run_case(family, case: Case, out: str) -> Result:
  try:
    if case.kill is not None:
      try:
        with case.kill():
          family.run(out, resume=False)
      except Killed:
        pass
      else:
        return Result(case.family, case.name, "not reached")
    else:
      shutil.copytree(family.stopped, out)
      if case.damage is not None:
        case.damage(out)
    before = _digests(os.path.join(out, family.checkpoints))
    if case.fault is not None:
      with case.fault():
        outcome, detail = _attempt(family, out)
      if outcome != "clean":
        return Result(case.family, case.name, outcome if outcome != "identical" else
                      "not reached", detail)
      if _lost(before, _digests(os.path.join(out, family.checkpoints))):
        return Result(case.family, case.name, "loss", detail)
      outcome, _ = _attempt(family, out)  # space freed: the same command again
      return Result(case.family, case.name, outcome, f"{detail}; then {outcome}")
    outcome, detail = _attempt(family, out)
    _release_holders()
    if outcome == "clean" and _lost(before, _digests(os.path.join(out, family.checkpoints))):
      return Result(case.family, case.name, "loss", detail)
    return Result(case.family, case.name, outcome, detail)
  finally:
    _release_holders()


def run_in_process(root: str, short: bool, families=("search", "train", "table"),
                   progress=None, shared_search=None) -> list[Result]:
  """Every in-process case of the chosen families, each in its own directory under `root`
  (`shared_search`: the search family's two runs, already made)."""
  makers = {"search": search_cases, "train": train_cases, "table": table_cases}
  results = []
  for name in families:
    family = (SearchFamily(os.path.join(root, name), shared=shared_search)
              if name == "search" else FAMILIES[name](os.path.join(root, name)))
    for i, case in enumerate(c for c in makers[name]() if c.short or not short):
      result = run_case(family, case, os.path.join(root, name, f"case{i}"))
      results.append(result)
      if progress:
        progress(result)
  return results


# -- the full form: the real commands, killed for real -------------------------------------------

def _cli(module: str, *args: str) -> list[str]:
  return [sys.executable, "-m", module, *args]


def _search_cmd(out: str, data_dir: str, *extra: str) -> list[str]:
  return _cli("proxyless_tf.search", "--target=flops", "--space=tiny",
              "--dataset=fashion_mnist_local", f"--data_dir={data_dir}", f"--out={out}",
              "--batch_size=16", "--valid_per_class=5", "--warmup_epochs=1", "--epochs=2",
              "--steps_per_epoch=40", "--checkpoint_every=10", "--ref_latency=0.4",
              "--latency_loss=add_linear", *extra)


def _outputs(out: str) -> tuple:
  found = []
  for name in ("arch.json", "history.json"):
    path = os.path.join(out, name)
    found.append(open(path).read() if os.path.exists(path) else None)
  return tuple(found)


def _trained(out: str):
  """Every weight of a training's model.weights.h5 (None before it is written)."""
  import h5py
  path = os.path.join(out, "model.weights.h5")
  if not os.path.exists(path):
    return None
  arrays = {}
  with h5py.File(path, "r") as f:
    f.visititems(lambda name, item: arrays.__setitem__(name, item[()].tobytes())
                 if isinstance(item, h5py.Dataset) else None)
  return arrays


def _measured(out: str):
  """What a real table build must end with whatever stopped it: every op once, nothing partial
  (the timings themselves vary from run to run)."""
  path = os.path.join(out, "table.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    data = json.load(f)
  return sorted(data["entries"]), data.get("partial") or {}, data["metadata"].get("rounds")


def _one_line_stop(proc: subprocess.CompletedProcess) -> bool:
  lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
  return proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr


def _classify(proc, got, reference) -> tuple[str, str]:
  if proc.returncode == 0:
    return ("identical" if got == reference else "differs"), ""
  if _one_line_stop(proc):
    return "clean", [line for line in proc.stderr.splitlines() if line.startswith("error: ")][0]
  return "traceback", (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:200]


def run_commands(root: str, seed: int, kills: int, progress=None) -> list[Result]:
  """SIGKILLs at random times of `python -m proxyless_tf.search` (then `--resume`), of
  `python -m proxyless_tf.train` and `python -m proxyless_tf.tools.build_latency_table` (then the same command);
  two searches started at once into one --out; a search on a small tmpfs (when this user may
  mount one)."""
  from conftest import make_synthetic_dataset, write_idx
  from proxyless_tf.data.sources import FASHION_MNIST_FILES
  data = make_synthetic_dataset(per_class=30, size=28)
  data_dir = os.path.join(root, "fashion")
  os.makedirs(data_dir)
  for split_name, (images_file, labels_file) in FASHION_MNIST_FILES.items():
    split = data.train if split_name == "train" else data.test
    write_idx(os.path.join(data_dir, images_file), split.images[..., 0])
    write_idx(os.path.join(data_dir, labels_file), split.labels)

  def uninterrupted(command, out, outputs):
    """(what the command leaves when nothing stops it, how long it takes)."""
    started = time.monotonic()
    subprocess.run(command(out, False), check=True, capture_output=True, cwd=ROOT)
    return outputs(out), time.monotonic() - started

  whole = os.path.join(root, "whole")
  rng = random.Random(seed)
  results = []

  def record(result):
    results.append(result)
    if progress:
      progress(result)

  def killed_and_rerun(what: str, command, outputs, reference, duration, checkpoints, i):
    """`command(out)` SIGKILLed at a random time, then run again (`--resume` for a search)."""
    out = os.path.join(root, f"{what.split()[0]}-kill{i}")
    at = rng.uniform(0.2, 0.85) * duration  # a later kill may find the command done
    proc = subprocess.Popen(command(out, False), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
      proc.wait(timeout=at)
      return record(Result("commands", f"SIGKILL {what} at {at:.1f}s", "not reached"))
    except subprocess.TimeoutExpired:
      proc.send_signal(signal.SIGKILL)
      proc.wait()
    folder = os.path.join(out, checkpoints)
    before = _digests(folder) if os.path.isdir(folder) else {}
    again = subprocess.run(command(out, True), capture_output=True, text=True, cwd=ROOT)
    outcome, detail = _classify(again, outputs(out), reference)
    if outcome == "clean" and _lost(before, _digests(folder)):
      outcome = "loss"
    record(Result("commands", f"SIGKILL {what} at {at:.1f}s of {duration:.1f}s", outcome,
                  detail))

  search = lambda out, again: _search_cmd(  # noqa: E731
      out, data_dir, *(["--resume"] if again else []))
  reference, duration = uninterrupted(search, whole, _outputs)
  for i in range(kills):
    killed_and_rerun("search", search, _outputs, reference, duration, "checkpoints", i)
  arch = os.path.join(whole, "arch.json")
  train = lambda out, again: _cli(  # noqa: E731: the same command again resumes a training
      "proxyless_tf.train", f"--arch={arch}", "--dataset=fashion_mnist_local",
      f"--data_dir={data_dir}", f"--out={out}", "--epochs=4", "--batch_size=32")
  trained, train_duration = uninterrupted(train, os.path.join(root, "train-whole"), _trained)
  for i in range(max(1, kills // 2)):
    killed_and_rerun("training", train, _trained, trained, train_duration, "backup", i)
  build = lambda out, again: [  # noqa: E731: a table build resumes its file
      sys.executable, os.path.join(ROOT, "tools", "build_latency_table.py"), "--space=tiny",
      "--device=host", "--num_threads=1",
      "--rounds=2", "--warmup=2", "--runs=5", "--self_check_samples=0",
      f"--out={os.path.join(out, 'table.json')}"]
  measured, build_duration = uninterrupted(build, os.path.join(root, "table-whole"), _measured)
  for i in range(max(1, kills // 2)):
    killed_and_rerun("table build", build, _measured, measured, build_duration, ".", i)

  out = os.path.join(root, "together")
  procs = [subprocess.Popen(_search_cmd(out, data_dir), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True) for _ in range(2)]
  streams = [p.communicate() for p in procs]
  finished = [subprocess.CompletedProcess(p.args, p.returncode, *out_err)
              for p, out_err in zip(procs, streams)]
  codes = sorted(p.returncode for p in finished)
  refused = [p for p in finished if p.returncode != 0]
  if codes == [0, 2] and _one_line_stop(refused[0]) and "being written by another" in \
      refused[0].stderr and _outputs(out) == reference:
    record(Result("commands", "two searches started at once into one --out", "identical",
                  refused[0].stderr.strip().splitlines()[-1]))
  else:
    record(Result("commands", "two searches started at once into one --out",
                  "traceback" if any("Traceback" in p.stderr for p in finished) else "differs",
                  f"exit codes {codes}"))

  small = os.path.join(root, "small")
  os.makedirs(small)
  mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", small],
                           capture_output=True).returncode == 0
  if mounted:
    try:
      out = os.path.join(small, "run")
      stopped = subprocess.run(_search_cmd(out, data_dir), capture_output=True, text=True,
                               cwd=ROOT)
      before = _digests(os.path.join(out, "checkpoints"))
      moved = os.path.join(root, "moved")
      shutil.copytree(out, moved)  # space freed: the run goes on on a larger disk
      resumed = subprocess.run(_search_cmd(moved, data_dir, "--resume"), capture_output=True,
                               text=True, cwd=ROOT)
      kept = not _lost(before, _digests(os.path.join(moved, "checkpoints"))) or \
          resumed.returncode == 0
      if not _one_line_stop(stopped):
        outcome, detail = _classify(stopped, None, reference)
        outcome = "not reached" if outcome in GOOD else outcome
      else:
        outcome, detail = _classify(resumed, _outputs(moved), reference)
        outcome = outcome if kept else "loss"
        detail = stopped.stderr.strip().splitlines()[-1][:160]
      record(Result("commands", "search on a full 700 KiB tmpfs, then resumed elsewhere",
                    outcome, detail))
    finally:
      subprocess.run(["umount", small], capture_output=True)
  return results


def table_lines(results: list[Result], command: str) -> list[str]:
  from proxyless_tf.latency.identity import host_line
  groups = {}
  for r in results:
    groups.setdefault(r.family, []).append(r)
  titles = {"search": "search (in process, tiny space)", "train": "retraining (in process)",
            "table": "latency table build (in process, stand-in measurer)",
            "commands": "the commands: search, train, table build (real SIGKILLs at random "
                        "times; two searches at once; a search on a full tmpfs)"}
  lines = [f"Command: `{command}`  ", f"{time.strftime('%Y-%m-%d')}, {host_line()}. Every case "
           "must end identical to an uninterrupted run or stop with one line, keeping the newest "
           "checkpoint it found (or a newer one).", "",
           "| faults | cases | identical | clean one-line stop | traceback | loss | differs / "
           "not reached |", "|---|---:|---:|---:|---:|---:|---:|"]
  for family, rows in groups.items():
    count = lambda *kinds: sum(r.outcome in kinds for r in rows)  # noqa: E731
    lines.append(f"| {titles[family]} | {len(rows)} | {count('identical')} | {count('clean')} | "
                 f"{count('traceback')} | {count('loss')} | {count('differs', 'not reached')} |")
  bad = [f"- {r.outcome}: {r.family}: {r.name}: {r.detail[:200]}" for r in results
         if r.outcome not in GOOD]
  lines += [""] + (bad or [f"{len(results)} cases: no traceback, no checkpoint lost, every "
                           "resumed run identical."])
  return lines


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--seed", type=int, default=0, help="of the random SIGKILL times")
  parser.add_argument("--kills", type=int, default=8, help="SIGKILLed searches")
  parser.add_argument("--short", action="store_true", help="the CI form only")
  parser.add_argument("--publish", action="store_true", help="write the table to BENCHMARKS.md")
  args = parser.parse_args()
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  show = lambda r: print(f"{r.outcome:>11}  {r.family}: {r.name}  {r.detail[:120]}",  # noqa: E731
                         flush=True)
  with tempfile.TemporaryDirectory() as tmp:
    results = [] if args.short else run_commands(os.path.join(tmp, "commands"), args.seed,
                                                 args.kills, show)
    results += run_in_process(os.path.join(tmp, "in_process"), args.short, progress=show)
  command = "python tests/fault_injection.py" + (" --short" if args.short else "") + (
      f" --seed={args.seed} --kills={args.kills}" if not args.short else "") + " --publish"
  lines = table_lines(results, command)
  if args.publish:
    from proxyless_tf.utils.sections import write_section
    section = ["## Fault injection (issue 25): killed, damaged, shared and full-disk runs, then "
               "resumed", "", *lines]
    print("\n".join(section))
    write_section("fault_injection", "\n".join(section), os.path.join(ROOT, "BENCHMARKS.md"))
  else:
    print("\n".join(lines))
  sys.exit(0 if all(r.outcome in GOOD for r in results) else 1)


if __name__ == "__main__":
  main()
