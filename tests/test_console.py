"""A quiet console: TensorFlow's native start-up lines stay off it; a failure still shows them."""

import os
import subprocess
import sys

import pytest

from proxyless_tf.utils.console import native_output_captured

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISE = ("oneDNN", "cuInit", "absl::InitializeLog", "cudart_stub", "XNNPACK delegate")


def _run(args, **env):
  base = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                        timeout=300, env={**base, **env})


def test_a_command_prints_only_its_own_lines():
  code = ("import numpy as np; from proxyless_tf import litert; from proxyless_tf.export import "
          "tflite; from proxyless_tf.model import build_model; from proxyless_tf.space.space import "
          "get_space; m = build_model(get_space('tiny').derive([0, 0, 0])); "
          "i = litert.make_interpreter(model_content=tflite.convert_for_timing(m, 'int8')); "
          "print('done')")
  quiet = _run(["-c", code], PROXYLESS_TF_VERBOSE="")
  assert quiet.returncode == 0, quiet.stderr[-2000:]
  assert quiet.stdout.strip() == "done"
  assert not [n for n in NOISE if n in quiet.stderr], quiet.stderr[-2000:]
  loud = _run(["-c", code], PROXYLESS_TF_VERBOSE="1")
  assert [n for n in NOISE if n in loud.stderr]  # the switch shows them again


def test_captured_native_output_is_replayed_when_the_code_fails(capfd):
  with native_output_captured():
    os.write(2, b"kept away\n")
  assert "kept away" not in capfd.readouterr().err
  with pytest.raises(RuntimeError):
    with native_output_captured():
      os.write(2, b"explains the failure\n")
      raise RuntimeError("conversion failed")
  assert "explains the failure" in capfd.readouterr().err
