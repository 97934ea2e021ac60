"""A search run's state on disk, and what a resume checks of it.

The checkpoint (weights, alpha, optimizers, RNG, step counters, the logged epochs), the run's
`search_config.json` with its run record (cost model and table hash, versions, units), the one
writer per run folder, a damaged `checkpoint` state file, an unreadable newest checkpoint (the
next older one is taken) and a full disk while saving (the half checkpoint is removed, the last
complete one kept). A mixin of `SearchRun` (`search/runner.py`), which builds the checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os

import tensorflow as tf

from proxyless_tf.errors import UserError
from proxyless_tf.search.config import SearchConfig
from proxyless_tf.utils.files import atomic_write_text


class CheckpointState:
  """Reads `config`, `checkpoint`, `manager`, `step`, `total_steps`, `chief`, `strategy`,
  `cost_model`, `net` and `log` of the run."""

  def _check_state_file(self, folder: str) -> None:
    """TensorFlow's `checkpoint` state file, garbled (a disk error, a half copy), makes every
    reader of the folder raise; it only names the newest checkpoints, which are found by their
    own files as well, so it is set aside (under the run's lock) and written anew."""
    state = os.path.join(folder, "checkpoint")
    if not os.path.exists(state):
      return
    try:
      tf.train.get_checkpoint_state(folder)
      return
    except Exception as err:  # noqa: BLE001: text_format and UTF-8 errors, OpError
      why = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
    from proxyless_tf.utils.files import set_aside
    from proxyless_tf.utils.run_lock import hold_directory
    hold_directory(self.config.out, "search", log=self.log)
    set_aside(state, why, "the checkpoints are found by their own files", self.log)

  def _config_path(self) -> str:
    return os.path.join(self.config.out, "search_config.json")

  def _checkpoints_on_disk(self) -> list[str]:
    """Every ckpt-N in the run's checkpoint folder, newest first, whatever its state file says
    (a damaged state file must not make a run look empty and get overwritten)."""
    folder = os.path.join(self.config.out, "checkpoints")
    if not os.path.isdir(folder):
      return []
    numbers = []
    for name in os.listdir(folder):
      stem, ext = os.path.splitext(name)
      if ext == ".index" and stem.startswith("ckpt-") and stem[5:].isdigit():
        numbers.append(int(stem[5:]))
    return [os.path.join(folder, f"ckpt-{n}") for n in sorted(numbers, reverse=True)]

  def _restore_newest_readable(self, candidates: list[str]) -> str:
    for path in candidates:
      try:
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return path
      except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError,
              OSError) as err:  # a truncated data shard: "IndexError: Read less bytes than requested"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        self.log(f"checkpoint {path} is unreadable ({first[:160]}); trying an older one")
    raise UserError(f"no readable checkpoint in {os.path.join(self.config.out, 'checkpoints')} "
                    f"(tried {len(candidates)}); move that run away to start a new one there")

  def restore_or_start(self, resume: bool) -> None:
    if self.chief:  # one writer per run directory, before anything in it is read or written
      from proxyless_tf.utils.run_lock import hold_directory
      hold_directory(self.config.out, "search", log=self.log)
    latest = tf.train.latest_checkpoint(os.path.join(self.config.out, "checkpoints"))
    on_disk = self._checkpoints_on_disk()
    saved = {**dataclasses.asdict(self.config), "run_record": self._run_record()}
    if (latest or on_disk) and not resume:
      raise UserError(f"{self.config.out} already holds a search (checkpoint "
                      f"{latest or on_disk[0]}); pass --resume to continue it, or choose another "
                      "--out")
    if resume and (latest or on_disk):
      try:
        with open(self._config_path()) as f:
          before = json.load(f)
      except (OSError, ValueError) as err:
        raise UserError(f"{self._config_path()} is missing or unreadable ({type(err).__name__}) "
                        "but the run has checkpoints; restore that file, or move the run away to "
                        "start anew") from None
      changed = [f.name for f in dataclasses.fields(SearchConfig)
                 if f.metadata.get("fixed_on_resume")
                 and before.get(f.name, f.default) != saved[f.name]]
      if changed:
        raise UserError(f"--resume with different {', '.join(changed)} than the saved run "
                        f"({', '.join(f'{k}={before.get(k)!r}' for k in changed)})")
      old = (before.get("run_record") or {}).get("cost_model") or {}
      new = saved["run_record"]["cost_model"] or {}
      for key in ("name", "table_sha256", "precision") if "run_record" in before else ():
        if old.get(key) != new.get(key):
          raise UserError(f"--resume with a different cost model than the saved run ({key}: "
                          f"{old.get(key)!r} then, {new.get(key)!r} now; table "
                          f"{new.get('table') or old.get('table')}); resume with the same "
                          "--target/--latency_table, or start a new --out")
      candidates = list(dict.fromkeys(([latest] if latest else []) + on_disk))
      restored = self._restore_newest_readable(candidates)
      self.log(f"resumed from {restored} at step {int(self.step.numpy())}/{self.total_steps}")
    else:
      if resume:
        self.log(f"--resume: no checkpoint in {self.config.out}; starting a new search")
      if self.chief:
        os.makedirs(self.config.out, exist_ok=True)
        atomic_write_text(self._config_path(), json.dumps(saved, indent=2) + "\n")

  def _run_record(self) -> dict:
    """What reproduces the run beyond its config: the cost model (target, table file and its
    hash, precision, unit), the package and TensorFlow versions, the units of history.json."""
    import hashlib
    from proxyless_tf.version import __version__
    cost = None
    if self.cost_model is not None:
      table = getattr(self.cost_model, "table", None)
      path = getattr(table, "path", None)
      digest = None
      if path and os.path.exists(path):
        with open(path, "rb") as f:
          digest = hashlib.sha256(f.read()).hexdigest()
      cost = {"name": self.cost_model.name, "unit": self.cost_model.unit,
              "table": os.path.abspath(path) if path else None, "table_sha256": digest,
              "precision": (table.metadata.get("precision") if table is not None else None)}
    unit = self.cost_model.unit if self.cost_model is not None else None
    return {"proxyless_tf": __version__, "tensorflow": tf.__version__, "cost_model": cost,
            "replicas": self.strategy.num_replicas_in_sync,
            "units": {"train_loss": "cross-entropy (nats), label-smoothed",
                      "valid_loss": "cross-entropy (nats)", "train_acc": "fraction",
                      "valid_acc": "fraction", "entropy": "nats (sum over mixed ops)",
                      "expected_latency": unit, "derived_latency": unit}}

  def save(self) -> str:
    """Saves only finite weights, so the latest checkpoint is always a good one to resume."""
    for v in self.net.trainable_variables:
      if not bool(tf.reduce_all(tf.math.is_finite(v))):
        self._check_finite(float("nan"), f"weight {v.path}")
    number = int(self.step.numpy())
    try:
      path = self.manager.save(checkpoint_number=number)
    except (tf.errors.OpError, OSError) as err:
      from proxyless_tf.utils.files import is_disk_full
      if not is_disk_full(err):
        raise
      # TensorFlow writes a checkpoint into ckpt-N_temp and renames it whole: the half one is
      # removed (it frees space), the complete ones before it are untouched
      half = f"{self.manager.directory}/ckpt-{number}_temp"
      if tf.io.gfile.exists(half):
        tf.io.gfile.rmtree(half)
      raise UserError(f"no space left on the device of {self.manager.directory} while saving "
                      f"step {number}; the last complete checkpoint is "
                      f"{self.manager.latest_checkpoint or 'none yet'}: free space, then rerun "
                      "with --resume") from None
    if not self.chief:
      tf.io.gfile.rmtree(self.manager.directory)
    return path
