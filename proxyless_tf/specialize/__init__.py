"""The whole job in one call: search -> retrain -> export -> verify -> benchmark -> report.

    from proxyless_tf.specialize import SpecializeConfig, specialize
    report = specialize(search_config, SpecializeConfig(out="runs/cpu_0.6ms"), cost_model)

Next to the searched net, the hand-designed net of the same space (every block k3 e6, the
MobileNetV2 recipe) goes through the same retrain / export / benchmark, so the report says
whether the search was worth it on this target. Every stage records its result in
`OUT/stages.json` when it finishes; a killed run continues at the stage it was in, and inside
it at the step it was in (the search resumes from its checkpoint, training from Keras'
`BackupAndRestore`; export and benchmark are redone, they take seconds to minutes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np

from proxyless_tf.errors import UserError
from proxyless_tf.utils.files import atomic_write_bytes, atomic_write_text, read_json_record

STAGES = ("search", "retrain", "export", "benchmark", "report")


@dataclasses.dataclass
class SpecializeConfig:
  out: str
  retrain_epochs: int = 10
  batch_size: int = 128
  lr: float = 0.05
  weight_decay: float = 4e-5
  label_smoothing: float = 0.1
  max_train_examples: int = 0  # 0: all
  baseline: bool = True  # retrain and benchmark the hand-designed net of the space too
  baseline_candidate: str = "k3_e6"  # its block in every searchable place (MobileNetV2's)
  split_large_depthwise: bool = True
  benchmark_rounds: int = 5
  benchmark_runs: int = 50
  num_threads: int = 1
  adb: bool = False
  serial: str | None = None
  benchmark_binary: str | None = None
  delegate: str = "xnnpack"
  check_examples: int = 1000  # test images for the TFLite accuracy check
  seed: int = 0

  def validate(self) -> None:
    for name in ("retrain_epochs", "batch_size", "benchmark_rounds", "benchmark_runs",
                 "num_threads", "check_examples"):
      if getattr(self, name) < 1:
        raise UserError(f"--{name} must be >= 1, got {getattr(self, name)}")
    if self.max_train_examples < 0:
      raise UserError(f"--max_train_examples must be >= 0, got {self.max_train_examples}")
    if not self.lr > 0:
      raise UserError(f"--retrain_lr must be > 0, got {self.lr}")


def baseline_config(space, candidate: str = "k3_e6"):
  """The hand-designed net of a space: one candidate in every block (k3 e6: MobileNetV2's)."""
  choices = []
  for spec in space.mixed_ops():
    names = [c.name for c in spec.candidates]
    if candidate not in names:
      raise UserError(f"space {space.name} has no {candidate} candidate for the baseline; pass "
                      "--nobaseline")
    choices.append(names.index(candidate))
  return space.derive(choices, name=f"baseline_{candidate.replace('_', '')}")


class Stages:
  """`OUT/stages.json`: what finished, with its results (written atomically). A record that is
  unreadable, or names a file that is gone, is redone with a line, and so is every stage after
  it (they were built on it); the search and the trainings resume from their own checkpoints."""

  def __init__(self, out: str, log=print):
    self.out = out
    self.path = os.path.join(out, "stages.json")
    done = read_json_record(
        self.path, "the stages are redone (the search and trainings resume from their own "
        "checkpoints)", lambda d: None if isinstance(d, dict) else "not an object", log) or {}
    self.done = {}
    for stage in STAGES:
      if stage not in done:
        continue
      problem = self._problem(stage, done[stage])
      if problem:
        later = [s for s in STAGES[STAGES.index(stage):] if s in done]
        log(f"{self.path}: the {stage} record {problem}; redoing {', '.join(later)}")
        break
      self.done[stage] = done[stage]

  def _problem(self, stage: str, record) -> str | None:
    """What makes a stage's record unusable (None: it is good)."""
    def number(value):
      return isinstance(value, (int, float)) and not isinstance(value, bool)

    def file(value):
      return isinstance(value, str) and os.path.exists(value)

    if not isinstance(record, dict):
      return "is not an object"
    if stage == "search":
      return None if file(record.get("arch")) else "names no arch file that exists"
    if stage == "retrain":
      for name, row in record.items():
        if not (isinstance(row, dict) and number(row.get("test_accuracy"))
                and number(row.get("seconds")) and isinstance(row.get("history"), dict)
                and os.path.exists(os.path.join(self.out, f"train_{name}", "model.keras"))):
          return f"of {name!r} is incomplete or its model.keras is gone"
    if stage == "export":
      for name, files in record.items():
        if not (isinstance(files, dict) and all(
            isinstance(files.get(m), dict) and file(files[m].get("path")) for m in
            ("float", "int8")) and number(files["int8"].get("test_accuracy"))):
          return f"of {name!r} is incomplete or names a .tflite that is gone"
    if stage == "benchmark" and not all(number(v) for v in record.values()):
      return "holds a latency that is not a number"
    return None

  def finish(self, stage: str, result) -> None:
    self.done[stage] = result
    atomic_write_text(self.path, json.dumps(self.done, indent=2) + "\n")


def _chance_warning(accuracy: float, num_classes: int) -> str:
  if accuracy < 1.5 / num_classes:
    return (f" WARNING: {accuracy:.1%} is chance level for {num_classes} classes: the net did "
            "not learn; train longer (--retrain_epochs) or lower --retrain_lr")
  return ""


def _measure(files: dict, spec: SpecializeConfig, log) -> dict:
  """Median latency (ms) of each file: host in interleaved rounds, or the phone via adb."""
  if spec.adb:
    from proxyless_tf.benchmark.android import benchmark_android
    out = {}
    for key, path in files.items():
      s = benchmark_android(path, serial=spec.serial, num_threads=spec.num_threads,
                            runs=spec.benchmark_runs, delegate=spec.delegate,
                            benchmark_binary=spec.benchmark_binary).summary
      out[key] = s["median_ms"] if s.get("median_ms") is not None else s["mean_ms"]
      log(f"  {key}: {out[key]:.3f} ms (phone)")
    return out
  from proxyless_tf.benchmark.host import time_interleaved
  from proxyless_tf.utils.progress import Progress
  progress = Progress(spec.benchmark_rounds * len(files), "benchmark")
  measured = time_interleaved(files, spec.benchmark_rounds, spec.benchmark_runs, spec.num_threads,
                              progress)
  progress.close()
  return measured


def specialize(search_config, spec: SpecializeConfig, cost_model, log=print, dataset=None) -> dict:
  """Runs (or continues) the whole job in `spec.out`; returns the report's numbers."""
  from proxyless_tf.arch import load_arch
  from proxyless_tf.arch.stats import totals
  from proxyless_tf.data import load_dataset, normalize, sample_batch
  from proxyless_tf.search.runner import SearchRun
  spec.validate()
  from proxyless_tf.utils.run_lock import hold_directory
  hold_directory(spec.out, "specialize", log=log)  # one job per directory
  stages = Stages(spec.out, log)
  data = dataset or load_dataset(search_config.dataset, search_config.data_dir)
  search_config.out = os.path.join(spec.out, "search")

  # 1. search (resumes from its own checkpoint)
  if "search" not in stages.done:
    log("== 1/5 search")
    start = time.monotonic()
    run = SearchRun(search_config, cost_model, log=log, dataset=data)
    result = run.run(resume=True)
    stages.finish("search", {"arch": result.arch_path, "png": result.png_path,
                             "predicted": result.predicted_latency,
                             "entropy_ratio": result.entropy_ratio,
                             "reranked": len(result.rerank) if result.rerank else 0,
                             "rerank_kept": result.rerank_kept,
                             "rerank_gain": (None if not result.rerank else
                                             result.rerank[result.rerank_kept].score
                                             - result.rerank[0].score),
                             "request": run.request, "latency_check": result.latency_check,
                             "seconds": time.monotonic() - start})
  elif cost_model is not None:
    cost_model.prepare(_space_of(search_config, data))
  searched = load_arch(stages.done["search"]["arch"])
  nets = {"searched": searched}
  if spec.baseline:
    nets["baseline"] = baseline_config(_space_of(search_config, data), spec.baseline_candidate)

  # 2. retrain every net from scratch with one recipe (resumes at its last epoch)
  train_data = data
  if spec.max_train_examples:
    train_data = dataclasses.replace(data, train=data.train.take(np.random.default_rng(
        spec.seed).permutation(len(data.train))[:spec.max_train_examples]))
  retrained = stages.done.get("retrain", {})
  for name, config in nets.items():
    if name in retrained:
      continue
    log(f"== 2/5 retrain {name} ({spec.retrain_epochs} epochs)")
    from proxyless_tf.train import train
    start = time.monotonic()
    _, history = train(config, train_data, os.path.join(spec.out, f"train_{name}"),
                       spec.retrain_epochs, spec.batch_size, spec.lr, 0.9, spec.weight_decay,
                       spec.label_smoothing, strategy=search_config.strategy, seed=spec.seed,
                       verbose=0)
    accuracy = float(history["val_accuracy"][-1])
    log(f"{name}: test accuracy {accuracy:.4f}" + _chance_warning(accuracy, config.num_classes))
    retrained[name] = {"test_accuracy": accuracy, "seconds": time.monotonic() - start,
                       "history": {k: [float(v) for v in vs] for k, vs in history.items()}}
    stages.finish("retrain", retrained)

  # 3. export float + int8, each checked against Keras; int8 accuracy on test images
  import keras
  from proxyless_tf.export.pipeline import export_model
  from proxyless_tf.export.tflite import XNNPACK_MAX_TAPS
  from proxyless_tf.export.verify import format_results
  size, channels = searched.input_size, searched.input_channels
  test = data.test.take(np.random.default_rng(spec.seed).permutation(len(data.test))
                        [:spec.check_examples])
  x_test, y_test = normalize(test.images, size, channels).numpy(), test.labels
  if "export" not in stages.done:
    exported = {}
    for name in nets:
      log(f"== 3/5 export {name}")
      model = keras.saving.load_model(os.path.join(spec.out, f"train_{name}", "model.keras"))
      results = export_model(model, os.path.join(spec.out, f"export_{name}"), ("float", "int8"),
                             sample_batch(train_data.train, 256, size, channels, seed=spec.seed),
                             x_test[:256],
                             max_depthwise_taps=XNNPACK_MAX_TAPS if spec.split_large_depthwise
                             else None, log=lambda *_: None)
      log(format_results(results))
      exported[name] = {r.mode: {"path": r.path, "ok": r.ok, "problem": r.problem,
                                 "relative_diff": r.relative_diff, "top1_agreement": r.top1_agreement,
                                 "size_bytes": r.size_bytes} for r in results}
      from proxyless_tf.litert import top1_accuracy
      exported[name]["int8"]["test_accuracy"] = top1_accuracy(exported[name]["int8"]["path"],
                                                              x_test, y_test)
    stages.finish("export", exported)
  exported = stages.done["export"]

  # 4. benchmark every file on the target, interleaved
  if "benchmark" not in stages.done:
    log(f"== 4/5 benchmark ({'phone via adb' if spec.adb else 'this host'}, "
        f"{spec.num_threads} thread(s))")
    files = {f"{name}/{mode}": exported[name][mode]["path"] for name in nets
             for mode in ("float", "int8")}
    canary = None if spec.adb else _canary_file(cost_model, spec.out)
    if canary:  # timed in the same rounds: the machine's speed now vs the table's build
      files["canary"] = canary
    stages.finish("benchmark", _measure(files, spec, log))
  measured = stages.done["benchmark"]
  from proxyless_tf.export.app_files import write_app_files
  for name, config in nets.items():  # labels + the app's contract, with the measured latency
    write_app_files(os.path.join(spec.out, f"export_{name}"), config,
                    {mode: exported[name][mode]["path"] for mode in ("float", "int8")}, "uint8",
                    data.class_names,
                    {mode: measured[f"{name}/{mode}"] for mode in ("float", "int8")},
                    extra={"latency_measured_on": "phone (adb)" if spec.adb else "this host"})

  # 5. report
  log("== 5/5 report")
  table = getattr(cost_model, "table", None)
  precision = table.metadata.get("precision", "float") if table is not None else "float"
  rows = {}
  for name, config in nets.items():
    stats = totals(config)
    predicted = None if cost_model is None else float(cost_model.predict(config))
    rows[name] = {"arch": config.name, "params": stats["trainable_params"], "macs": stats["macs"],
                  "predicted": predicted, "unit": getattr(cost_model, "unit", None),
                  "measured_float_ms": measured[f"{name}/float"],
                  "measured_int8_ms": measured[f"{name}/int8"],
                  "keras_accuracy": retrained[name]["test_accuracy"],
                  "int8_accuracy": exported[name]["int8"]["test_accuracy"],
                  "export_ok": all(exported[name][m]["ok"] for m in ("float", "int8")),
                  "retrain_s": retrained[name]["seconds"]}
  from proxyless_tf.latency.canary import table_canary_ms
  from proxyless_tf.specialize.report import write_report
  request = stages.done["search"].get("request")
  speed = None
  if "canary" in measured and table is not None and table_canary_ms(table):
    speed = measured["canary"] / table_canary_ms(table)
  report = {"rows": rows, "precision": precision, "search": stages.done["search"],
            "target_latency": request["target"] if request else None, "request": request,
            "speed_factor": speed,
            "cost_model": getattr(cost_model, "name", "none"), "adb": spec.adb,
            "num_threads": spec.num_threads, "epochs": spec.retrain_epochs,
            "num_classes": searched.num_classes}
  path = write_report(report, spec.out)
  stages.finish("report", {"path": path})
  log(f"wrote {path}")
  return report


def _canary_file(cost_model, out: str) -> str | None:
  """The table's canary exported as its ops were, for a host table with a canary; else None."""
  from proxyless_tf.latency.canary import canary_tflite, table_canary_ms
  from proxyless_tf.latency.side_by_side import host_table_of
  table = host_table_of(cost_model)
  if table is None or not table_canary_ms(table):
    return None
  path = os.path.join(out, "canary.tflite")
  atomic_write_bytes(path, canary_tflite(table))
  return path


def _space_of(search_config, data):
  from proxyless_tf.space.space import get_space
  space = get_space(search_config.space).with_width(search_config.width_mult)
  return space.with_task(search_config.input_size or space.input_size, data.image_shape[-1],
                         data.num_classes)
