"""Mixed precision for search and training: Keras dtype policies, set only while a model is built.

Layers keep the policy they were built under, so the process-wide policy is restored afterwards
(an export or a second model in the same process is not silently built in float16). Variables,
the architecture logits and the latency loss stay float32 under every policy.
"""

from __future__ import annotations

import contextlib

from proxyless_tf.errors import UserError

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def check_policy(name: str) -> None:
  if name not in POLICIES:
    raise UserError(f"--dtype_policy must be one of {', '.join(POLICIES)}, got {name!r}")


@contextlib.contextmanager
def dtype_policy(name: str):
  import keras
  check_policy(name)
  old = keras.config.dtype_policy()
  keras.config.set_dtype_policy(name)
  try:
    yield
  finally:
    keras.config.set_dtype_policy(old)
