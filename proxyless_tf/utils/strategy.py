"""Which tf.distribute strategy runs a search or a training: `default|mirrored|multi_worker|tpu`.

TensorFlow's own engine does the work (replicas, all-reduce, cross-worker collectives); this module
only picks and builds the strategy and says in one line what is missing when it cannot.
"""

from __future__ import annotations

import contextlib
import json
import os

from proxyless_tf.errors import UserError

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def split_host_cpu(count: int) -> None:
  """Splits the host CPU into `count` logical devices, so `mirrored` runs on a machine without
  GPUs (tests, overhead measurements: the devices share the same cores, so this is no speed-up).
  Must run before TensorFlow initialises its devices."""
  if count <= 1:
    return
  import tensorflow as tf
  cpu = tf.config.list_physical_devices("CPU")[0]
  try:
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
  except RuntimeError:
    if len(tf.config.list_logical_devices("CPU")) != count:
      raise UserError(f"cannot split the CPU into {count} devices: TensorFlow is already "
                      "running; split it first thing in the process") from None


def make_strategy(name: str = "default"):
  """The strategy called `name`. `mirrored`: every local GPU, or every logical CPU device when
  there is no GPU. `multi_worker`: the cluster in the TF_CONFIG environment variable."""
  import tensorflow as tf
  if name not in STRATEGIES:
    raise UserError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices)
  if name == "multi_worker":
    raw = os.environ.get("TF_CONFIG")
    if not raw:
      raise UserError("--strategy=multi_worker needs the TF_CONFIG environment variable (the "
                      "cluster's workers and this process's index); see README 'Several machines'")
    try:
      config = json.loads(raw)
      workers = config["cluster"]["worker"]
      config["task"]["index"]
    except (ValueError, KeyError, TypeError) as e:
      raise UserError(f"TF_CONFIG is not a valid cluster description ({type(e).__name__}: {e}); "
                      'expected {"cluster": {"worker": ["host:port", ...]}, "task": '
                      '{"type": "worker", "index": N}}') from None
    if not isinstance(workers, list) or not workers:
      raise UserError("TF_CONFIG lists no workers")
    return tf.distribute.MultiWorkerMirroredStrategy()
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
  except (ValueError, tf.errors.OpError, RuntimeError) as e:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise UserError(f"--strategy=tpu: no TPU found ({first[:160]}); run on a TPU VM or pick "
                    "another --strategy") from None
  return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy) -> bool:
  """Whether this process writes the run's files (checkpoints, logs, results)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not getattr(resolver, "task_type", None):
    return True
  return resolver.task_type in ("chief", None) or (
      resolver.task_type == "worker" and resolver.task_id == 0
      and "chief" not in resolver.cluster_spec().as_dict())


def worker_index(strategy) -> int:
  resolver = getattr(strategy, "cluster_resolver", None)
  return int(getattr(resolver, "task_id", 0) or 0) if resolver is not None else 0


@contextlib.contextmanager
def replica_local_bn_statistics():
  """BN moving statistics created inside this scope are replica-local (ON_READ, MEAN on read).

  A supernet's BN layers sit inside `tf.switch_case` branches (one path runs), and a mirrored
  variable written in a replica needs a cross-replica `merge_call`, which TensorFlow does not
  allow inside control flow. Replica-local statistics are written locally; a checkpoint or a read
  outside the replicas sees their mean over replicas. Batch statistics stay per replica, as in the
  original code's DataParallel (MirroredStrategy's all-reduce needs a merge_call too, so a
  synchronized BN cannot run inside a branch either).
  """
  import tensorflow as tf

  def creator(next_creator, **kwargs):
    name = kwargs.get("name") or ""
    if name.endswith(("moving_mean", "moving_variance")):
      kwargs["synchronization"] = tf.VariableSynchronization.ON_READ
      kwargs["aggregation"] = tf.VariableAggregation.MEAN
    return next_creator(**kwargs)

  with tf.variable_creator_scope(creator):
    yield
