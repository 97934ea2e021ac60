"""The search run: its assembly (data, space, supernet, steps, objective, checkpoint) and its loop
(warm-up, then weight steps with arch updates).

The other jobs each have a module: options `search/config.py` (`SearchConfig`, importable from
here too), the arch step's objective `search/arch_objective.py`, how alpha learns
`search/arch_update.py`, the state on disk and resume checks `search/run_state.py`, each epoch's
report `search/epoch_report.py`, how the run ends `search/finish.py` and what it returns
`search/result.py` (`SearchResult`).

Everything that decides what happens next (weights, alpha, both optimizers, RNG, step counters,
REINFORCE baseline) is in the checkpoint, and batches come from seeded streams indexed by step, so
a run killed at any point resumes from its last checkpoint exactly as if never stopped.
"""

from __future__ import annotations

import math
import os
import time

import keras
import tensorflow as tf

from proxyless_tf.data.search_data import open_search_data
from proxyless_tf.errors import UserError
from proxyless_tf.search.arch_update import arch_update
from proxyless_tf.search.config import SearchConfig
from proxyless_tf.search.epoch_report import EpochReport, keras_logs
from proxyless_tf.search.epoch_sums import EpochSums
from proxyless_tf.search.finish import SearchFinish
from proxyless_tf.search.arch_objective import choose_objective
from proxyless_tf.search.projection import CostProjection, count_arch_updates
from proxyless_tf.search.result import SearchResult
from proxyless_tf.search.run_state import CheckpointState
from proxyless_tf.search.steps import SearchSteps
from proxyless_tf.space.space import get_space
from proxyless_tf.supernet.supernet import build_supernet
from proxyless_tf.utils.determinism import enable_determinism
from proxyless_tf.utils.precision import dtype_policy
from proxyless_tf.utils.progress import Progress
from proxyless_tf.utils.strategy import (is_chief, make_strategy, replica_local_bn_statistics,
                                         worker_index)


class SearchDiverged(UserError):
  """The loss became NaN/inf; the last good checkpoint is kept."""


def cosine(step: int, total: int, base: float) -> float:
  return 0.5 * base * (1 + math.cos(math.pi * min(step, total) / max(1, total)))


class SearchRun(CheckpointState, EpochReport, SearchFinish):
  """One search. Under a tf.distribute `strategy` (an object, or config.strategy's name) the
  supernet, its optimizers and alpha are mirrored; every worker runs this same loop on the same
  global batches, and only the chief writes the run's files."""

  def __init__(self, config: SearchConfig, cost_model=None, log=print, dataset=None,
               strategy=None):
    config.validate()
    self.config = config
    self.strategy = strategy or make_strategy(config.strategy)
    self.chief = is_chief(self.strategy)
    self.log = log if self.chief else (lambda *a, **k: None)
    self.cost_model = cost_model
    replicas = self.strategy.num_replicas_in_sync
    if config.batch_size % replicas:
      raise UserError(f"--batch_size={config.batch_size} does not split over {replicas} replicas; "
                      f"use a multiple of {replicas}")
    self.data = data = open_search_data(
        config.dataset, config.data_dir, stream=config.stream,
        valid_per_class=config.valid_per_class, valid_fraction=config.valid_fraction,
        max_train_examples=config.max_train_examples, augment=config.augment, seed=config.seed,
        dataset=dataset, log=self.log)
    if config.rerank_candidates > 1 and data.streamed:
      raise UserError("--rerank_candidates trains each candidate on data held in memory; this "
                      "dataset is streamed (set --rerank_candidates=0, or --stream=no if it fits)")
    space = get_space(config.space).with_width(config.width_mult)
    self.space = space.with_task(config.input_size or space.input_size, data.channels,
                                 data.num_classes)
    self.steps_per_epoch = config.steps_per_epoch or data.train_count() // config.batch_size
    if self.steps_per_epoch < 1:
      raise UserError(f"{data.train_count()} training images are fewer than one batch of "
                      f"{config.batch_size}; lower --batch_size")
    self.warmup_steps = config.warmup_epochs * self.steps_per_epoch
    self.total_steps = self.warmup_steps + config.epochs * self.steps_per_epoch

    keras.utils.set_random_seed(config.seed)  # python, numpy, TF and Keras initializers
    if config.deterministic:
      # same flags and seed -> the same losses and arch.json (cost: BENCHMARKS.md "Determinism")
      enable_determinism(log)
    # outside the strategy's scope: one generator, used in cross-replica context, so every replica
    # (and every worker: same seed) runs the same sampled paths
    self.generator = tf.random.Generator.from_seed(config.seed)
    objective, self.controller, self.request = choose_objective(config, self.space, cost_model,
                                                                self.log)
    self.expected = objective.expected
    with self.strategy.scope(), replica_local_bn_statistics():
      with dtype_policy(config.dtype_policy):
        self.net = build_supernet(self.space, weight_sharing=config.weight_sharing)
      self.steps = SearchSteps(self.net, self.generator, config.arch_mode, objective,
                               config.momentum, config.weight_decay, config.label_smoothing,
                               config.arch_lr, strategy=self.strategy,
                               loss_scale=config.dtype_policy == "mixed_float16")
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    self.arch_updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="arch_updates")
    self.epoch_sums = EpochSums()  # checkpointed: a killed epoch reports the same means
    self.arch_update = arch_update(config, self.steps)
    # the epochs logged so far (history.json's rows, as JSON): checkpointed, so a history.json
    # that a kill, a full disk or a hand cut damaged is written again whole from the checkpoint
    self.logged = tf.Variable("[]", dtype=tf.string, trainable=False, name="history")
    extra = {} if self.controller is None else {"latency_multiplier": self.controller.multiplier}
    # Every supernet variable by its path, explicitly: tf.train.Checkpoint's object tracking does
    # not reach layers that Keras keeps in lists (the mixed ops' candidates), which a resume then
    # silently re-initialised.
    weights = {v.path: v for v in self.net.weights}
    if len(weights) != len(self.net.weights):
      raise RuntimeError("supernet variables with the same path; checkpoints would mix them up")
    self.checkpoint = tf.train.Checkpoint(net=self.net, weights=weights, rng=self.generator,
                                          step=self.step,
                                          arch_updates=self.arch_updates,
                                          epoch_sums=self.epoch_sums.variable,
                                          history=self.logged,
                                          **self.steps.checkpoint_items(), **extra)
    # every worker saves (reading replica-local BN statistics is a collective); only the chief's
    # copy stays, the others write to a scratch folder they delete (TensorFlow's own pattern)
    folder = os.path.join(config.out, "checkpoints")
    if not self.chief:
      folder = os.path.join(config.out, f".worker{worker_index(self.strategy)}_scratch")
    else:
      self._check_state_file(folder)
    self.manager = tf.train.CheckpointManager(self.checkpoint, folder,
                                              max_to_keep=3 if self.chief else 1)
    # TensorBoard: train/ (per-step loss, accuracy, lr; arch steps; epoch means) and validation/
    # (held-out loss and accuracy, same tags, so TensorBoard overlays them)
    board = os.path.join(config.out, "tensorboard")
    self.writer = (tf.summary.create_file_writer(os.path.join(board, "train"))
                   if self.chief else tf.summary.create_noop_writer())
    self.valid_writer = (tf.summary.create_file_writer(os.path.join(board, "validation"))
                         if self.chief else tf.summary.create_noop_writer())
    self.summary_every = max(1, self.steps_per_epoch // 20)

  # -- the loop ------------------------------------------------------------------------------------

  def _check_finite(self, value: float, what: str) -> None:
    if not math.isfinite(value):
      step = int(self.step.numpy())
      latest = self.manager.latest_checkpoint or "none yet"
      raise SearchDiverged(f"{what} became {value} at step {step}; stopped without saving. Last "
                           f"good checkpoint: {latest}. Lower --lr/--arch_lr and rerun with --resume")

  def run(self, resume: bool = False, callbacks=None) -> SearchResult:
    """Runs (or resumes) the search. `callbacks`: Keras callbacks, called at the start and end and
    after every epoch with the epoch's row as logs (also under Keras' names: loss, accuracy,
    val_loss, val_accuracy); one that sets `model.stop_training` (EarlyStopping) ends the search
    there, checkpointed, and the architecture is derived as it stands."""
    self.restore_or_start(resume)
    hooks = keras.callbacks.CallbackList(callbacks or [], model=self.net)
    self.net.stop_training = False
    hooks.on_train_begin()
    c = self.config
    start = int(self.step.numpy())
    end = min(self.total_steps, c.max_steps) if c.max_steps else self.total_steps
    self.log(f"search: space {self.space.name} ({len(self.net.mixed_ops)} mixed ops), "
             f"{self.data.train_count()} train / {self.data.valid_count()} held-out images"
             f"{' (streamed, counts approximate)' if self.data.streamed else ''}, "
             f"{self.steps_per_epoch} steps/epoch, {c.warmup_epochs} warm-up + {c.epochs} search "
             f"epochs, arch {self.arch_update.describe()}")
    train_stream = self.data.train_batches(c.batch_size, self.space.input_size,
                                           self.space.input_channels, seed=c.seed, start=start,
                                           per_epoch=self.steps_per_epoch)
    valid_stream = self.data.valid_batches(c.batch_size, self.space.input_size,
                                           self.space.input_channels, seed=c.seed + 10_000,
                                           start=int(self.arch_updates.numpy()))
    history = []
    progress = Progress(end, "search", start=start,
                        stream=None if self.chief else open(os.devnull, "w"))
    interval = self.arch_update.interval(self.steps_per_epoch)
    arch_start = self.warmup_steps + c.arch_skip_epochs * self.steps_per_epoch
    t_start = time.monotonic()
    projection = CostProjection(
        end - start, count_arch_updates(range(start, end), arch_start, self.warmup_steps, interval),
        self.log, device="GPU" if tf.config.list_logical_devices("GPU") else "CPU",
        arch_name=self.arch_update.name)
    arch_loss = None
    for step in range(start, end):
      x, y = next(train_stream)
      warm = step < self.warmup_steps
      lr = (cosine(step, self.warmup_steps, c.warmup_lr) if warm
            else cosine(step - self.warmup_steps, self.total_steps - self.warmup_steps, c.lr))
      t_step, built = time.monotonic(), self.steps.programs_built()
      loss, acc = self.steps.weight_step(x, y, lr, uniform=warm)
      loss = float(loss)
      projection.weight_step(time.monotonic() - t_step, self.steps.programs_built() > built)
      self._check_finite(loss, "weight-step loss")
      self.epoch_sums.add(loss=loss, accuracy=float(acc), steps=1)
      if step >= arch_start and (step - self.warmup_steps + 1) % interval == 0:
        vx, vy = next(valid_stream)
        t_step, built = time.monotonic(), self.steps.programs_built()
        arch_loss = self.arch_update.update(vx, vy)
        projection.arch_step(time.monotonic() - t_step, self.steps.programs_built() > built)
        self._check_finite(arch_loss, "arch-step loss")
        if self.controller is not None:
          self.controller.update(self.expected.of_choices(self.net.argmax_choices()))
        self.arch_updates.assign_add(1)
        self.epoch_sums.add(arch_loss=arch_loss, arch_steps=1)
      self.step.assign(step + 1)
      progress.update(1, loss=loss, lr=lr)
      if (step + 1) % self.summary_every == 0:
        with self.writer.as_default(step=step + 1):
          tf.summary.scalar("step/loss", loss)
          tf.summary.scalar("step/accuracy", float(acc))
          tf.summary.scalar("step/learning_rate", lr)
          if arch_loss is not None:
            tf.summary.scalar("step/arch_loss", arch_loss)
      epoch_end = (step + 1) % self.steps_per_epoch == 0 or step + 1 == end
      if (step + 1) % c.checkpoint_every == 0 and not epoch_end:
        # at an epoch's end the checkpoint comes after the epoch is logged (`_end_epoch`): one
        # taken before it would resume past the end of an epoch that was never logged
        self.save()
      if epoch_end:
        # a stop mid-epoch (--max_steps) logs the partial epoch but keeps its sums: a resumed run
        # then logs the whole epoch as an uninterrupted one would (the row is replaced)
        history.append(self._end_epoch(step + 1, partial=(step + 1) % self.steps_per_epoch != 0))
        self._write_history()  # every epoch: a kill loses no logged epoch
        hooks.on_epoch_end(history[-1]["epoch"] - 1, keras_logs(history[-1]))
        if self.net.stop_training:
          self.log(f"a callback stopped the search after epoch {history[-1]['epoch']}")
          end = step + 1
          break
    progress.close()
    hooks.on_train_end(keras_logs(history[-1]) if history else None)
    if end > start:
      self.save()
    self.log(f"search steps done in {time.monotonic() - t_start:.0f}s")
    return self._finish(history, end)
