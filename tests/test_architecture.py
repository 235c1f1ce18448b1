"""The house's rules, checked on the source: layers point one way and no module imports itself back.

Every ``import`` in the project is read with :mod:`ast` — at module level and inside functions alike,
since a deferred import closes a circle just as surely — and resolved to the project module it names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("model", "hwr_app", "benchmarks")

# model's layers, bottom to top: a module may import from its own layer and the layers below it.
MODEL_LAYERS = {
    "model.constants": 0, "model.assets": 0,
    "model.files": 1,
    "model.recognition": 2,
    "model.storage": 3,
    "model.training": 4,
    "model.personal": 5,
    "model.cli": 6, "model.train": 6, "model.evaluate": 6, "model.soup": 6,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Return every module of the project's packages: dotted name → file."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imported_modules(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Return the project modules that the file at ``path`` (module ``name``) imports anywhere in it."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # "from model.files import limits" names the module model.files.limits
            candidates = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem
                          for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:  # "import model.storage.samples.x" → the module
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, on_stack, stack, circles = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def layer_of(module: str) -> int | None:
    for prefix, layer in MODEL_LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def test_the_project_has_no_import_circles():
    circles = import_circles(import_graph())
    assert circles == [], "modules that import each other, directly or round a loop: " + "; ".join(
        " ↔ ".join(circle) for circle in circles)


def test_the_circle_finder_finds_a_circle():
    """The check above would pass on a graph it cannot read; here it must find the loop it is given."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_circles(graph) == [["a", "b", "c"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_deferred_and_relative_imports(tmp_path):
    """An import inside a function counts, and "from model.files import limits" names model.files.limits."""
    graph = import_graph()
    assert "model.files.limits" in graph["model.files.validate"]
    assert "model.recognition.numbers" in graph["model.recognition.predict"]
    assert "model.training.train" in graph["model.cli"]  # imported inside a function


def test_every_model_module_sits_on_a_layer():
    unplaced = [name for name in project_modules() if name.startswith("model.") and layer_of(name) is None]
    assert unplaced == [], f"modules outside every layer of model/ (add them to MODEL_LAYERS): {unplaced}"


def test_model_layers_point_down():
    upward = []
    for source, targets in import_graph().items():
        if not source.startswith("model."):
            continue
        for target in targets:
            if target.startswith("model.") and layer_of(target) > layer_of(source):
                upward.append(f"{source} → {target}")
    assert upward == [], "model/ imports a layer above it: " + ", ".join(sorted(upward))


@pytest.mark.parametrize("forbidden", ["hwr_app", "benchmarks", "PySide6"])
def test_model_never_imports_the_app_the_benchmarks_or_qt(forbidden):
    offenders = []
    for name, path in project_modules().items():
        if not name.startswith("model"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{name} imports {n}" for n in names if n == forbidden or n.startswith(forbidden + ".")]
    assert offenders == []


def test_the_app_never_imports_the_benchmarks():
    offenders = [f"{source} → {target}" for source, targets in import_graph().items() if source.startswith("hwr_app")
                 for target in targets if target.startswith("benchmarks")]
    assert offenders == []


def test_every_sub_package_says_what_it_owns_and_may_import():
    for package in sorted((ROOT / "model").iterdir()):
        init = package / "__init__.py"
        if package.is_dir() and init.exists():
            doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
            assert "Owns" in doc and "May import" in doc, f"{init} should say what it owns and what it may import"


def test_no_gui_file_is_over_400_lines():
    long = {path.name: n for path in (ROOT / "hwr_app").glob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}, f"GUI files over 400 lines (split them by what they hold): {long}"


def test_every_package_is_installed():
    """A sub-package missing from pyproject.toml works in a checkout and is absent from an installed hwr."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    packages = {module_name(init.parent / "__init__.py") for package in ("model", "hwr_app")
                for init in (ROOT / package).rglob("__init__.py")}
    assert packages <= listed, f"packages not listed in pyproject.toml: {sorted(packages - listed)}"
