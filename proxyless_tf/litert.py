"""The TFLite interpreter: LiteRT (`ai-edge-litert`) first, `tflite_runtime` if only that is installed."""

from __future__ import annotations

from proxyless_tf.errors import UserError

try:
  from ai_edge_litert.interpreter import Interpreter
  RUNTIME = "ai-edge-litert"
except ImportError:  # pragma: no cover - depends on what is installed
  try:
    from tflite_runtime.interpreter import Interpreter
    RUNTIME = "tflite-runtime"
  except ImportError:
    Interpreter = None
    RUNTIME = None


def runtime_version() -> str:
  from importlib import metadata
  for dist in ("ai-edge-litert", "tflite-runtime"):
    try:
      return f"{dist} {metadata.version(dist)}"
    except metadata.PackageNotFoundError:
      continue
  return "unknown"


def make_interpreter(model_path: str | None = None, model_content: bytes | None = None,
                     num_threads: int = 1, xnnpack: bool = True):
  """`xnnpack=False`: TFLite's builtin kernels, without the default XNNPACK delegate."""
  if Interpreter is None:
    raise UserError("no TFLite interpreter installed: pip install ai-edge-litert")
  kwargs = {}
  if not xnnpack:
    from ai_edge_litert.interpreter import OpResolverType
    kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
  from proxyless_tf.utils.console import native_output_captured
  try:
    with native_output_captured(fds=(2,)):  # "INFO: Created TensorFlow Lite XNNPACK delegate"
      interpreter = Interpreter(model_path=model_path, model_content=model_content,
                                num_threads=num_threads, **kwargs)
      interpreter.allocate_tensors()
  except ValueError as e:
    raise UserError(f"cannot load TFLite model {model_path or '<bytes>'}: {e}") from None
  return interpreter


def run(interpreter, batch):
  """Runs a batch of normalized floats one example at a time, (de)quantizing when the model's I/O
  is integer, and as pixels when the model takes raw uint8 pixels."""
  import numpy as np
  inp = interpreter.get_input_details()[0]
  out = interpreter.get_output_details()[0]
  results = []
  for example in batch:
    x = example[None]
    if inp["dtype"] != np.float32:
      scale, zero = inp["quantization"]
      info = np.iinfo(inp["dtype"])
      if not scale:  # a pixel-input model (uint8, normalizes inside): the pixels x came from
        x = (x + 1.0) * 127.5
        scale, zero = 1.0, 0
      x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(inp["dtype"])
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    y = interpreter.get_tensor(out["index"])
    if out["dtype"] != np.float32:
      scale, zero = out["quantization"]
      y = (y.astype(np.float32) - zero) * scale
    results.append(y[0])
  return np.stack(results)


def top1_accuracy(model_path: str, x, labels) -> float:
  """Top-1 accuracy of a .tflite file on float inputs `x` (quantized I/O handled by `run`)."""
  import numpy as np
  out = run(make_interpreter(model_path=model_path), x)
  return float(np.mean(np.argmax(out, -1) == labels))
