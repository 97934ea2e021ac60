"""`ptf.search(...)`, `ptf.train(...)`, `ptf.export(...)`, `ptf.benchmark(...)` while
`proxyless_tf.search` & co. stay the packages `python -m` runs.

A package attribute cannot be both: a function put there is replaced by the subpackage as soon as
the subpackage is imported (and `import proxyless_tf.search.x` would then look inside a
function). So the subpackage module itself is made callable, forwarding to the API function.
"""

from __future__ import annotations

import importlib
import sys
import types


def make_callable(module_name: str, target: str) -> None:
  """Calling module `module_name` calls `target` ("package.module:function")."""
  path, name = target.split(":")

  class CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
      return getattr(importlib.import_module(path), name)(*args, **kwargs)

  sys.modules[module_name].__class__ = CallableModule
