"""Retraining an architecture from scratch: Keras `fit` with the recipe of the original code.

SGD with Nesterov momentum, cosine lr, label smoothing, weight decay. A killed run resumes at its
last epoch as if never stopped (`backup.py`: checkpoints no kill or damage can take away);
`strategy` (a name of utils.strategy.STRATEGIES or a tf.distribute.Strategy) spreads the global
batch over replicas; only the chief writes the model.
Under another Keras backend (`KERAS_BACKEND=jax`, no TensorFlow needed) the same recipe trains
on one device from in-memory arrays (`arrays.py`). The command line is `python -m
proxyless_tf.train` (`__main__.py`).
"""

from __future__ import annotations

import os


def train(config, data, out: str, epochs: int, batch_size: int, lr: float, momentum: float,
          weight_decay: float, label_smoothing: float, strategy="default", seed: int = 0,
          verbose: int = 2, dtype_policy: str = "float32", callbacks=(), cutout: int = 0):
  """Returns (float32 keras.Model, history dict). `cutout` > 0: cutout squares of that side on
  the training images (the CIFAR recipe's 16). Under a mixed `dtype_policy` the net trains in
  float16/bfloat16 (Keras adds loss scaling for float16) and comes back as a float32 copy, which
  is what the export converts."""
  import keras
  from proxyless_tf.utils.precision import dtype_policy as policy_scope
  keras.utils.set_random_seed(seed)
  if keras.backend.backend() != "tensorflow":
    return _train_on_arrays(config, data, out, epochs, batch_size, lr, momentum, weight_decay,
                            label_smoothing, strategy, seed, verbose, dtype_policy, callbacks,
                            cutout)
  import tensorflow as tf
  from proxyless_tf.data import make_dataset
  from proxyless_tf.data.pipeline import epoch_batches
  from proxyless_tf.train.backup import EpochBackup
  from proxyless_tf.utils.strategy import is_chief, make_strategy
  if isinstance(strategy, str):
    strategy = make_strategy(strategy)
  chief = is_chief(strategy)
  if chief:  # one writer per directory, before anything in it is read
    from proxyless_tf.utils.run_lock import hold_directory
    hold_directory(out, "training")
  size, channels = config.input_size, config.input_channels
  if getattr(data, "streamed", False):  # data.search_data.StreamedData: files read as it goes
    if cutout:
      from proxyless_tf.errors import UserError
      raise UserError("--cutout works on data held in memory (CIFAR-size sets); this dataset is "
                      "streamed: pass --stream=no if it fits, or --cutout=0")
    per_epoch = max(1, data.train_count() // batch_size)
    test_ds = data.test.dataset(batch_size, size, channels, training=False, augment=data.augment,
                                drop_remainder=False)
  else:
    per_epoch = max(1, len(data.train) // batch_size)
    test_ds = make_dataset(data.test, batch_size, size, channels, training=False)
  with strategy.scope(), policy_scope(dtype_policy):
    model = _compiled_model(config, per_epoch * epochs, lr, momentum, weight_decay,
                            label_smoothing)
    backup = EpochBackup(os.path.join(out, "backup"), chief=chief)
    start = backup.resume(model)
  if getattr(data, "streamed", False):  # files are read as they come: a resume starts them anew
    train_ds = data.train.dataset(batch_size, size, channels, training=True, augment=data.augment,
                                  seed=seed, repeat=True)
  else:
    train_ds = epoch_batches(data.train, batch_size, size, channels, seed=seed,
                             start_epoch=start, epochs=epochs, cutout_size=cutout)
  one_hot = lambda x, y: (x, tf.one_hot(y, config.num_classes))  # noqa: E731
  if start < epochs:
    model.fit(train_ds.map(one_hot), validation_data=test_ds.map(one_hot), epochs=epochs,
              initial_epoch=start, verbose=verbose, steps_per_epoch=per_epoch,
              callbacks=[backup, keras.callbacks.TensorBoard(os.path.join(out, "tensorboard")),
                         *callbacks])
  return _finish(model, config, out, dtype_policy, backup, chief), backup.history


def _compiled_model(config, steps: int, lr, momentum, weight_decay, label_smoothing):
  import keras
  from proxyless_tf.model import build_model
  model = build_model(config)
  schedule = keras.optimizers.schedules.CosineDecay(lr, steps)
  sgd = keras.optimizers.SGD
  if keras.backend.backend() == "tensorflow":  # one fused op per variable (fused_sgd.py says why)
    from proxyless_tf.train.fused_sgd import FusedSGD as sgd
  model.compile(
      optimizer=sgd(schedule, momentum=momentum, nesterov=True, weight_decay=weight_decay),
      loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing),
      metrics=["accuracy"])
  if keras.backend.backend() == "tensorflow":
    _build_training_state(model, config.num_classes)
  return model


def _build_training_state(model, num_classes: int) -> None:
  """Create the optimizer's, metrics' and loss's variables before `fit` traces its step: made
  inside that trace instead, they make TensorFlow trace the whole step a second time (doubling
  a tree-cell net's wait before its first step). The metrics and loss are built on a symbolic
  trace of their own, without the model."""
  import tensorflow as tf
  model.optimizer.build(model.trainable_variables)
  spec = tf.TensorSpec((None, num_classes), tf.float32)

  def metrics_and_loss(y, y_pred):
    model.compute_metrics(None, y, y_pred)
    return model.compute_loss(None, y, y_pred, training=False)

  tf.function(metrics_and_loss).get_concrete_function(spec, spec)


def _save_as_stock_sgd(model) -> None:
  """A model trained with `FusedSGD` is saved naming Keras's own SGD (the same optimizer, the same
  variables, unfused): `model.keras` then loads wherever Keras does, without this package's
  training module imported."""
  optimizer = getattr(model, "optimizer", None)
  if optimizer is not None and type(optimizer).__name__ == "FusedSGD":
    import keras
    optimizer.__class__ = keras.optimizers.SGD


def _finish(model, config, out: str, dtype_policy: str, backup, chief: bool = True):
  """The float32 model, saved by the chief: `model.keras` and `model.weights.h5` load on every
  backend (weights trained under JAX are exported by TensorFlow). Each is written under a
  temporary name and renamed, and the epoch checkpoints go only after both are in place."""
  from proxyless_tf.model import build_model
  if dtype_policy != "float32":
    trained = model
    model = build_model(config)
    model.set_weights(trained.get_weights())
  _save_as_stock_sgd(model)
  if chief:
    for name, save in (("model.keras", model.save), ("model.weights.h5", model.save_weights)):
      tmp = os.path.join(out, f".tmp-{name}")
      save(tmp)
      with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
      os.replace(tmp, os.path.join(out, name))
    backup.finished()
  return model


def _train_on_arrays(config, data, out, epochs, batch_size, lr, momentum, weight_decay,
                     label_smoothing, strategy, seed, verbose, dtype_policy, callbacks, cutout):
  """`train` under a Keras backend other than TensorFlow (JAX): numpy batches (`arrays.py`),
  one device, no TensorBoard (it writes through TensorFlow); `history.json` keeps the curves."""
  import keras
  from proxyless_tf.errors import UserError
  from proxyless_tf.train.arrays import ArrayBatches
  from proxyless_tf.utils.precision import dtype_policy as policy_scope
  backend = keras.backend.backend()
  if not (strategy in (None, "default") or getattr(strategy, "num_replicas_in_sync", 1) == 1):
    raise UserError(f"--strategy={strategy} is TensorFlow's tf.distribute; under "
                    f"KERAS_BACKEND={backend} training runs on one device (--strategy=default)")
  if getattr(data, "streamed", False):
    raise UserError(f"streamed datasets are read with tf.data; under KERAS_BACKEND={backend} "
                    "train on data held in memory (--stream=no) or use the TensorFlow backend")
  from proxyless_tf.utils.run_lock import hold_directory
  hold_directory(out, "training")
  size, channels = config.input_size, config.input_channels
  train_batches = ArrayBatches(data.train, batch_size, size, channels, config.num_classes,
                               training=True, seed=seed, cutout=cutout)
  test_batches = ArrayBatches(data.test, batch_size, size, channels, config.num_classes,
                              training=False)
  with policy_scope(dtype_policy):
    model = _compiled_model(config, len(train_batches) * epochs, lr, momentum, weight_decay,
                            label_smoothing)
  from proxyless_tf.train.backup import EpochBackup
  backup = EpochBackup(os.path.join(out, "backup"))
  start = backup.resume(model)
  train_batches.start_at(start)  # its order and augmentation are keyed by the epoch
  if start < epochs:
    model.fit(train_batches, validation_data=test_batches, epochs=epochs, initial_epoch=start,
              verbose=verbose, callbacks=[backup, *callbacks])
  return _finish(model, config, out, dtype_policy, backup), backup.history

from proxyless_tf.utils.callable_module import make_callable  # noqa: E402

make_callable(__name__, "proxyless_tf.api:train")  # ptf.train(...): see proxyless_tf.api.train
