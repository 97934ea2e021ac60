"""What a search reports while it runs: each epoch's row (train and held-out loss and accuracy,
expected latency, entropy, the argmax architecture) in the log, TensorBoard and `history.json`,
and what Keras callbacks see of it. A mixin of `SearchRun` (`search/runner.py`).
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from proxyless_tf.utils.files import atomic_write_text


def keras_logs(row: dict) -> dict:
  """An epoch row as Keras callbacks read logs: numbers only, with Keras' names added."""
  logs = {k: v for k, v in row.items() if isinstance(v, (int, float)) and k not in ("epoch", "step")}
  for ours, theirs in (("train_loss", "loss"), ("train_acc", "accuracy"), ("valid_loss", "val_loss"),
                       ("valid_acc", "val_accuracy")):
    if ours in logs:
      logs[theirs] = logs[ours]
  return logs


def arch_string(net) -> str:
  return " ".join(op.candidates[i].name for op, i in zip(net.mixed_ops, net.argmax_choices()))


class EpochReport:
  """Reads `config`, `net`, `steps`, `data`, `space`, `epoch_sums`, `logged`, `writer`,
  `valid_writer`, `steps_per_epoch`, `warmup_steps`, `controller`, `expected`, `cost_model` and
  `chief` of the run."""

  def evaluate(self) -> tuple[float, float]:
    """Held-out loss/accuracy of the current argmax architecture.

    BN uses batch statistics: a path's moving statistics were only updated on the steps that
    sampled it, so in inference mode a freshly derived path scores near chance early on. The
    derived net is retrained from scratch anyway, so this is a ranking signal, not a final score.
    """
    self.net.set_active(self.net.argmax_choices())
    losses, accs, sizes = [], [], []
    for x, y in self.data.eval_batches(self.space.input_size, self.space.input_channels):
      loss, acc = self.steps.evaluate_batch(x, tf.constant(y), training=True)
      losses.append(float(loss))
      accs.append(float(acc))
      sizes.append(len(y))
    return float(np.average(losses, weights=sizes)), float(np.average(accs, weights=sizes))

  def _write_history(self) -> list:
    """history.json = every epoch logged so far, from the checkpointed copy (`self.logged`):
    the rows of earlier processes (a resumed run) need no readable history.json."""
    rows = json.loads(self.logged.numpy().decode())
    if self.chief:
      atomic_write_text(os.path.join(self.config.out, "history.json"),
                        json.dumps(rows, indent=2) + "\n")
    return rows

  def _end_epoch(self, step: int, partial: bool = False) -> dict:
    epoch = (step - 1) // self.steps_per_epoch + 1
    sums = self.epoch_sums.read()
    if not partial:
      self.epoch_sums.reset()
    valid_loss, valid_acc = self.evaluate()
    expected = self.steps.expected_latency()
    row = {"epoch": epoch, "step": step,
           "train_loss": sums["loss"] / sums["steps"] if sums["steps"] else float("nan"),
           "train_acc": sums["accuracy"] / sums["steps"] if sums["steps"] else float("nan"),
           "valid_loss": valid_loss, "valid_acc": valid_acc,
           "expected_latency": None if expected is None else float(expected),
           "entropy": self.net.entropy(), "arch": arch_string(self.net)}
    phase = "warm-up" if step <= self.warmup_steps else "search"
    lat = "" if expected is None else f" E[lat] {float(expected):.3f}{self.cost_model.unit}"
    if self.controller is not None:
      derived = self.expected.of_choices(self.net.argmax_choices())
      row.update(derived_latency=derived, latency_multiplier=float(self.controller.multiplier.numpy()))
      lat += (f" derived {derived:.3f}/{self.controller.target:.3f}{self.cost_model.unit} "
              f"(multiplier {row['latency_multiplier']:+.3f})")
    self.log(f"epoch {epoch} ({phase}) train loss {row['train_loss']:.3f} acc {row['train_acc']:.3f}"
             f" | valid loss {valid_loss:.3f} acc {valid_acc:.3f}{lat} | entropy "
             f"{row['entropy']:.3f} | arch {row['arch']}")
    with self.writer.as_default(step=step):
      tf.summary.scalar("epoch/loss", row["train_loss"])
      tf.summary.scalar("epoch/accuracy", row["train_acc"])
      tf.summary.scalar("arch/entropy_nats", row["entropy"])
      if expected is not None:
        unit = self.cost_model.unit
        tf.summary.scalar(f"arch/expected_latency_{unit}", row["expected_latency"])
        if "derived_latency" in row:
          tf.summary.scalar(f"arch/derived_latency_{unit}", row["derived_latency"])
      for op, probs in zip(self.net.mixed_ops, self.net.probabilities()):
        for cand, p in zip(op.candidates, probs):
          tf.summary.scalar(f"arch_probability/{op.name}/{cand.name}", float(p))
      if self.chief:
        tf.summary.image("architecture", self._arch_image()[None], step=step)
    with self.valid_writer.as_default(step=step):
      tf.summary.scalar("epoch/loss", row["valid_loss"])
      tf.summary.scalar("epoch/accuracy", row["valid_acc"])
    self.writer.flush()
    self.valid_writer.flush()
    # a partial epoch's row (--max_steps) is replaced by the whole epoch's when a resume ends it
    rows = [r for r in json.loads(self.logged.numpy().decode()) if r["epoch"] < epoch]
    self.logged.assign(json.dumps(rows + [row]))
    self.save()
    return row

  def _arch_image(self):
    """The current argmax architecture drawn as arch.png is, as an image tensor."""
    import tempfile
    from proxyless_tf.search.draw import draw_arch
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, "arch.png")
      draw_arch(self.net.derive(name=f"{self.space.name}_argmax"), path)
      with open(path, "rb") as f:
        return tf.io.decode_png(f.read(), channels=3)
