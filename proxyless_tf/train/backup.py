"""Epoch checkpoints of a training that a kill, a full disk or a damaged file cannot take away.

Keras' `BackupAndRestore` writes its weights file in place and its epoch record after it: a kill
inside the write leaves a half file, a kill between the two resumes the wrong epoch, the
history of the epochs before the kill is lost, and so is the state of the dropout's random
numbers (a resumed run would drop other units than an unstopped one). Here every epoch N is
`epoch-N.weights.h5` (model and optimizer) plus `epoch-N.json` (the epoch, the history so far,
the random generators' states), each written to a temporary name and renamed: the JSON,
written last, is what makes a checkpoint count. On resume the newest one that reads is used,
with a line naming any skipped; none readable is one line. The last two are kept, and all of
them stay until the trained model is saved (`finished`): a kill in between keeps the training.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import keras
import numpy as np

from proxyless_tf.errors import UserError
from proxyless_tf.utils.files import atomic_write_text

KEEP = 2
_RECORD = re.compile(r"^epoch-(\d+)\.json$")


def _seed_generators(model) -> list:
  """The random generators of the model's layers (dropout, drop-path), in a fixed order."""
  return [g for layer in model._flatten_layers() for g in getattr(layer, "_seed_generators", [])]


class EpochBackup(keras.callbacks.Callback):
  """`resume(model)` before `fit` says which epoch to start at (and loads that checkpoint);
  as a callback it writes one checkpoint per finished epoch."""

  def __init__(self, directory: str, log=print, chief: bool = True):
    super().__init__()
    self.directory, self.log, self.chief = directory, log, chief
    self.initial_epoch, self.history = 0, {}

  def _records(self) -> list[tuple[int, str]]:
    if not os.path.isdir(self.directory):
      return []
    found = [(int(m.group(1)), os.path.join(self.directory, name))
             for name in os.listdir(self.directory) if (m := _RECORD.match(name))]
    return sorted(found, reverse=True)

  def resume(self, model) -> int:
    """Loads the newest readable checkpoint into `model` (compiled); returns its epoch (0: none)."""
    records = self._records()
    for epoch, path in records:
      try:
        with open(path, "rb") as f:
          record = json.loads(f.read().decode("utf-8"))
        if record.get("epoch") != epoch or not isinstance(record.get("history"), dict):
          raise ValueError("not an epoch record")
        if model.optimizer is not None and not model.optimizer.built:
          model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(self.directory, f"epoch-{epoch}.weights.h5"))
        generators = _seed_generators(model)
        states = record.get("seed_states", [])
        if len(states) != len(generators):
          raise ValueError(f"{len(states)} random states for {len(generators)} generators")
        for generator, state in zip(generators, states):
          generator.state.assign(np.asarray(state, generator.state.dtype))
      except Exception as err:  # noqa: BLE001: h5py and Keras raise many kinds for a bad file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        self.log(f"training checkpoint {path} is unreadable ({first[:160]}); trying an older one")
        continue
      self.initial_epoch, self.history = epoch, record["history"]
      self.log(f"resumed training from {path} (epoch {epoch})")
      return epoch
    if records:
      raise UserError(f"no readable training checkpoint in {self.directory} (tried "
                      f"{len(records)}); move that directory away to train anew")
    return 0

  def on_epoch_end(self, epoch, logs=None):
    for key, value in (logs or {}).items():
      self.history.setdefault(key, []).append(float(value))
    if not self.chief:
      return
    os.makedirs(self.directory, exist_ok=True)
    number = epoch + 1
    weights = os.path.join(self.directory, f"epoch-{number}.weights.h5")
    tmp = os.path.join(self.directory, f".tmp-epoch-{number}.weights.h5")
    self.model.save_weights(tmp, overwrite=True)
    with open(tmp, "rb+") as f:
      os.fsync(f.fileno())
    os.replace(tmp, weights)
    states = [np.asarray(g.state.numpy()).tolist() for g in _seed_generators(self.model)]
    atomic_write_text(os.path.join(self.directory, f"epoch-{number}.json"),
                      json.dumps({"epoch": number, "history": self.history,
                                  "seed_states": states}) + "\n")
    for old, path in self._records()[KEEP:]:
      for name in (path, os.path.join(self.directory, f"epoch-{old}.weights.h5")):
        if os.path.exists(name):
          os.remove(name)

  def finished(self) -> None:
    """The trained model is saved: its checkpoints are no longer needed."""
    if self.chief:
      shutil.rmtree(self.directory, ignore_errors=True)
