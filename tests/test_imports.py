"""The package's import structure: no import circles, and families behind their registry.

Read from the source (every `import` statement, at module level or inside a function), so it
costs no imports and holds for code paths no other test runs.
"""

import ast
import os

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "proxyless_tf")
PACKAGE = "proxyless_tf"
FAMILIES = f"{PACKAGE}.families"


def _modules() -> dict:
  out = {}
  for folder, _, files in os.walk(ROOT):
    for name in files:
      if name.endswith(".py"):
        path = os.path.join(folder, name)
        module = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
        out[module[:-len(".__init__")] if module.endswith(".__init__") else module] = path
  return out


def _imports(modules: dict) -> dict:
  """module -> the package's modules it imports (`from P import m` counts as importing P.m
  when m is a module, else P)."""
  graph = {m: set() for m in modules}
  for module, path in modules.items():
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(open(path).read())):
      if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
          parts = package.split(".")[:len(package.split(".")) - node.level + 1]
          base = ".".join(parts + ([base] if base else []))
        targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                   for a in node.names]
      else:
        continue
      graph[module].update(t for t in targets if t in modules and t != module)
  return graph


def _cycles(graph: dict) -> list:
  """Strongly connected components of more than one module (Tarjan)."""
  index, low, stack, on_stack, found = {}, {}, [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in graph[v]:
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        found.append(sorted(component))

  for v in sorted(graph):
    if v not in index:
      visit(v)
  return found


def test_no_import_circles():
  assert _cycles(_imports(_modules())) == []


def test_the_cycle_finder_sees_a_circle():
  assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_shared_code_reaches_families_only_through_the_registry():
  """Outside `families/`, a module imports the registry (`proxyless_tf.families`) or the core
  type (`families.base`), never a family's own package, and never names a family."""
  modules = _modules()
  graph = _imports(modules)
  allowed = {FAMILIES, f"{FAMILIES}.base"}
  # the public API keeps the names it had before the MBConv family moved into its folder
  facades = {f"{PACKAGE}.arch": {f"{FAMILIES}.mbconv.config"},
             f"{PACKAGE}.model": {f"{FAMILIES}.mbconv.layers"}}
  names = {name for name in os.listdir(os.path.join(ROOT, "families"))
           if os.path.isfile(os.path.join(ROOT, "families", name, "__init__.py"))}
  assert {"mbconv", "pyramid_tree"} <= names
  for module, path in modules.items():
    if module == FAMILIES or module.startswith(FAMILIES + "."):
      continue
    reached = {t for t in graph[module] if t.startswith(FAMILIES)} - allowed - facades.get(
        module, set())
    assert not reached, f"{module} imports {sorted(reached)}: ask the registry instead"
    source = open(path).read()
    named = [n for n in names - {"mbconv"} if n in source]
    assert not named, f"{module} names the family {named}: ask the registry instead"


def test_a_family_imports_no_other_family():
  """A family is one folder: removing another family's folder leaves it whole."""
  graph = _imports(_modules())
  names = {name for name in os.listdir(os.path.join(ROOT, "families"))
           if os.path.isfile(os.path.join(ROOT, "families", name, "__init__.py"))}
  for name in names:
    own = f"{FAMILIES}.{name}"
    for module, targets in graph.items():
      if module == own or module.startswith(own + "."):
        others = {t for t in targets if t.startswith(FAMILIES + ".") and t != f"{FAMILIES}.base"
                  and not (t == own or t.startswith(own + "."))}
        assert not others, f"{module} imports {sorted(others)}: a family stands alone"
