"""The search run: warm-up, then weight steps with arch updates; checkpoints, logs, and the result.

Its options are `search/config.py`'s, how alpha learns is `search/arch_update.py`'s, what it
returns is `search/result.py`'s (`SearchConfig` and `SearchResult` are importable from here too).

Everything that decides what happens next (weights, alpha, both optimizers, RNG, step counters,
REINFORCE baseline) is in the checkpoint, and batches come from seeded streams indexed by step, so
a run killed at any point resumes from its last checkpoint exactly as if never stopped.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from proxyless_tf.arch.io import save_arch
from proxyless_tf.arch.stats import format_table
from proxyless_tf.data.search_data import open_search_data
from proxyless_tf.errors import UserError
from proxyless_tf.families import family_of
from proxyless_tf.latency.cost_model import ExpectedCost
from proxyless_tf.search.arch_update import arch_update
from proxyless_tf.search.confidence import distribution_verdict
from proxyless_tf.search.config import SearchConfig
from proxyless_tf.search.epoch_sums import EpochSums
from proxyless_tf.search.projection import CostProjection, count_arch_updates
from proxyless_tf.search.result import SearchResult
from proxyless_tf.search.steps import ArchObjective, SearchSteps
from proxyless_tf.search.target_latency import (LatencyController, choices_at_latency,
                                                resolve_request)
from proxyless_tf.space.space import get_space
from proxyless_tf.supernet.supernet import build_supernet
from proxyless_tf.utils.determinism import enable_determinism
from proxyless_tf.utils.files import atomic_write_text
from proxyless_tf.utils.precision import dtype_policy
from proxyless_tf.utils.progress import Progress
from proxyless_tf.utils.strategy import (is_chief, make_strategy, replica_local_bn_statistics,
                                         worker_index)


# Requested-latency mode derives the most probable net predicted within this of the request:
# half the +-3% the measured net is held to, leaving the other half to the predictor's error.
DERIVE_TOLERANCE = 0.015


class SearchDiverged(UserError):
  """The loss became NaN/inf; the last good checkpoint is kept."""


def cosine(step: int, total: int, base: float) -> float:
  return 0.5 * base * (1 + math.cos(math.pi * min(step, total) / max(1, total)))


def _keras_logs(row: dict) -> dict:
  """An epoch row as Keras callbacks read logs: numbers only, with Keras' names added."""
  logs = {k: v for k, v in row.items() if isinstance(v, (int, float)) and k not in ("epoch", "step")}
  for ours, theirs in (("train_loss", "loss"), ("train_acc", "accuracy"), ("valid_loss", "val_loss"),
                       ("valid_acc", "val_accuracy")):
    if ours in logs:
      logs[theirs] = logs[ours]
  return logs


def _arch_string(net) -> str:
  return " ".join(op.candidates[i].name for op, i in zip(net.mixed_ops, net.argmax_choices()))


class SearchRun:
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
    objective = self._objective(cost_model)
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

  def _objective(self, cost_model) -> ArchObjective:
    """How the arch step weighs latency: accuracy alone, a latency loss, or requested latency."""
    config = self.config
    objective = ArchObjective(form="none")
    if config.target_latency and cost_model is None:
      raise UserError("--target_latency needs a cost model: pass --target=cpu|mobile|gpu|flops")
    if cost_model is not None:
      cost_model.prepare(self.space)
    self.controller = None
    self.request = None
    if config.target_latency:
      # requested latency: the additive form, its weight set by the controller
      expected = ExpectedCost(cost_model, self.space)
      self.request = request = resolve_request(config.target_latency, expected, self.space,
                                               cost_model.unit)
      if request["ratio"] is not None:
        self.log(f"requested latency: {request['ratio']:g}x the reference net "
                 f"({request['reference_name']}: {request['reference']:.4g} {cost_model.unit} on "
                 f"{cost_model.name}) = {request['target']:.4g} {cost_model.unit}")
      self.controller = LatencyController(request["target"], config.target_latency_rate)
      objective = ArchObjective(expected, request["target"], "add_linear",
                                controller=self.controller)
    elif cost_model is not None and config.latency_loss != "none":
      if config.latency_loss == "mul_log" and config.ref_latency <= 1.0:
        raise UserError(f"--latency_loss=mul_log needs --ref_latency > 1 (log(ref) is the "
                        f"normalizer), got {config.ref_latency}; use --latency_loss=add_linear")
      expected = ExpectedCost(cost_model, self.space)
      lowest = expected.model.offset + expected.model.scale * (
          expected.fixed + sum(float(tf.reduce_min(c)) for c in expected.per_op))
      if config.latency_loss == "mul_log" and lowest <= 1.0:
        raise UserError(f"--latency_loss=mul_log needs latencies > 1 (it takes their log), but "
                        f"this space can reach {lowest:.3g} {cost_model.unit}; use "
                        "--latency_loss=add_linear")
      objective = ArchObjective(expected, config.ref_latency, config.latency_loss,
                                config.loss_alpha, config.loss_beta,
                                config.loss_lambda)
    return objective

  # -- checkpoints ---------------------------------------------------------------------------------

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

  # -- the loop ------------------------------------------------------------------------------------

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
        hooks.on_epoch_end(history[-1]["epoch"] - 1, _keras_logs(history[-1]))
        if self.net.stop_training:
          self.log(f"a callback stopped the search after epoch {history[-1]['epoch']}")
          end = step + 1
          break
    progress.close()
    hooks.on_train_end(_keras_logs(history[-1]) if history else None)
    if end > start:
      self.save()
    self.log(f"search steps done in {time.monotonic() - t_start:.0f}s")
    return self._finish(history, end)

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
           "entropy": self.net.entropy(), "arch": _arch_string(self.net)}
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

  def _derive(self) -> list[int]:
    """The argmax choices; in requested-latency mode, the most probable ones on target."""
    if self.controller is None or self.cost_model is None:
      return self.net.argmax_choices()
    e = self.expected
    log_probs = [np.log(np.maximum(p, 1e-30)) for p in self.net.probabilities()]
    choices = choices_at_latency(log_probs, [c.numpy() for c in e.per_op], e.fixed,
                                 self.controller.target, DERIVE_TOLERANCE, scale=e.model.scale,
                                 offset=e.model.offset)
    argmax = self.net.argmax_choices()
    if choices != argmax:
      differ = sum(a != b for a, b in zip(choices, argmax))
      self.log(f"requested latency: the argmax architecture predicts "
               f"{e.of_choices(argmax):.3f} {self.cost_model.unit}; derived the most probable one "
               f"within {DERIVE_TOLERANCE:.1%} of {self.controller.target:.3f} instead ({differ} of "
               f"{len(argmax)} "
               "decisions differ)")
    return choices

  def _rerank(self, choices: list[int], steps: int):
    """(choices, candidates, kept index): search/rerank.py over the derived net and nets of its
    cost; the derived net alone when re-ranking is off or the search stopped before its end."""
    from proxyless_tf.search.rerank import Reranker, draw_candidates, rerank_table
    c = self.config
    if c.rerank_candidates < 2:
      return choices, None, None
    if steps < self.total_steps:
      self.log(f"re-ranking skipped: the search stopped at step {steps} of {self.total_steps}")
      return choices, None, None
    cost_of = None if self.cost_model is None else self.expected.of_choices
    anchor = None if self.controller is None else self.controller.target
    candidates = draw_candidates(self.net.probabilities(), choices, c.rerank_candidates, cost_of,
                                 seed=c.seed, anchor=anchor)
    if len(candidates) < c.rerank_candidates:
      of = "the requested cost" if anchor else "the derived net's cost"
      self.log(f"re-ranking: the learned distribution holds {len(candidates)} distinct nets within "
               f"3% of {of} (asked for {c.rerank_candidates})")
    if len(candidates) < 2:
      return choices, None, None
    reranker = Reranker(self.data.source, c.out, c.rerank_epochs, c.rerank_seeds,
                        c.rerank_train_examples, c.rerank_valid_examples, seed=c.seed,
                        strategy=self.strategy, dtype_policy=c.dtype_policy, chief=self.chief,
                        log=self.log)
    best = reranker.run(candidates, self.space)
    unit = None if self.cost_model is None else self.cost_model.unit
    self.log(rerank_table(candidates, best, unit))
    kept = candidates.index(best)
    gain = 100 * (best.score - candidates[0].score)
    self.log("re-ranking kept the search's own net" if kept == 0 else
             f"re-ranking kept net {kept}: {gain:+.2f} points of held-out accuracy over the "
             "search's own net (a short training's ranking is noisy: BENCHMARKS.md \"Re-ranking\")")
    return best.choices, candidates, kept

  def _finish(self, history, steps: int) -> SearchResult:
    from proxyless_tf.search.draw import draw_arch
    choices, candidates, kept = self._rerank(self._derive(), steps)
    arch = self.space.derive(choices, name=f"{self.space.name}_searched")
    arch_path = os.path.join(self.config.out, "arch.json")
    png_path = os.path.join(self.config.out, "arch.png")
    predicted = None
    if self.cost_model is not None:
      predicted = self.cost_model.predict(arch)
    if self.chief:
      save_arch(arch, arch_path)
      family = family_of(arch)
      if family.search_writes_original:  # and in the original code's format
        atomic_write_text(os.path.join(self.config.out, "net_original.config"),
                          json.dumps(family.to_original(arch), indent=1) + "\n")
      draw_arch(arch, png_path, title=f"{arch.name}" + (
          "" if predicted is None else f" - predicted {predicted:.2f} {self.cost_model.unit}"))
    self.log(format_table(arch))
    if predicted is not None:
      self.log(f"predicted latency ({self.cost_model.name}): {predicted:.3f} {self.cost_model.unit}")
    if predicted is not None and self.controller is not None:
      error = 100 * self.controller.relative_error(predicted)
      verdict = "within" if abs(error) <= 3 else "OUTSIDE"
      ratio_note = ""
      if self.request["ratio"] is not None:
        ratio_note = (f" = {self.request['ratio']:g}x / {predicted / self.request['reference']:.3f}x"
                      " the reference net")
      self.log(f"requested {self.controller.target:.3f} {self.cost_model.unit}, predicted "
               f"{predicted:.3f} ({error:+.1f}%: {verdict} +-3%){ratio_note}")
    latency_check = None
    if predicted is not None and self.config.verify_latency and self.chief:
      from proxyless_tf.latency.side_by_side import verify_on_host
      latency_check = verify_on_host(arch, self.space.reference_arch(), self.cost_model,
                                     self.request, log=self.log)
      if latency_check is not None:
        atomic_write_text(os.path.join(self.config.out, "latency_check.json"),
                          json.dumps(latency_check, indent=2) + "\n")
    ratio, assessment = distribution_verdict(self.net.probabilities(),
                                             len(candidates) if candidates else 0)
    self.log(assessment)
    rows = self._write_history()  # whole again even when this process ran no epoch
    if history:
      history = rows
    self.log(f"wrote {arch_path} and {png_path}; retrain with: python -m proxyless_tf.train "
             f"--arch={arch_path} --dataset={self.config.dataset}")
    return SearchResult(arch_path, png_path, arch, predicted, steps, history, ratio, candidates,
                        kept, latency_check)

