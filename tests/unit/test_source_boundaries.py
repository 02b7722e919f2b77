"""Tooling never imports tests, and nothing shipped reaches into the source tree.

Tests may import tools (hack/codegen, hack/devcluster); the reverse made `make generate`
depend on a test fixture once. The deliverables (server/, controller/, local/) are installed
into images and venvs where no checkout exists: a module that finds the repository from its
own path would write into (or read from) a tree that is not there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
SKIP_DIRS = {".git", ".venv", "bin", "build", "node_modules", "__pycache__", "tests"}
DELIVERABLES = [REPO / "server" / "src", REPO / "controller" / "src", REPO / "local" / "src"]
TOOLING = {"codegen", "devcluster"}


def _python_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_dir() and path.name not in SKIP_DIRS and not path.name.startswith("."):
            yield from _python_files(path)
        elif path.suffix == ".py":
            yield path


def _top_level_names(root: Path) -> set[str]:
    """Modules and packages importable with `root` on sys.path."""
    return {p.stem for p in root.glob("*.py")} | {p.parent.name for p in root.glob("*/__init__.py")}


def _test_module_names() -> set[str]:
    """Names that can only mean a module under tests/ (pytest puts its dirs on sys.path)."""
    names = {"tests"}
    for path in [TESTS, *TESTS.rglob("*")]:
        if path.is_dir():
            names |= _top_level_names(path)
    ours = set().union(*map(_top_level_names, [REPO, REPO / "hack", *DELIVERABLES]))
    return names - ours - {"__init__"}


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def _puts_tests_on_sys_path(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        text = ast.unparse(node) if isinstance(node, ast.Assign | ast.Call) else ""
        if "sys.path" in text and "'tests'" in text:
            lines.append(node.lineno)
    return lines


def _outside_tests() -> Iterator[tuple[Path, ast.AST]]:
    for path in _python_files(REPO):
        yield path, ast.parse(path.read_text(), filename=str(path))


def test_nothing_outside_tests_imports_from_tests() -> None:
    test_names = _test_module_names()
    found = []
    for path, tree in _outside_tests():
        where = path.relative_to(REPO)
        found += [
            f"{where}:{line} imports {name}" for line, name in _imports(tree) if name in test_names
        ]
        found += [
            f"{where}:{line} puts tests/ on sys.path" for line in _puts_tests_on_sys_path(tree)
        ]
    assert not found, "tooling and deliverables must not import tests:\n" + "\n".join(found)


def test_the_check_sees_an_import_of_a_test_fixture() -> None:
    tree = ast.parse("import sys\nsys.path.insert(0, str(REPO / 'tests'))\nimport kubeapi\n")
    assert ("kubeapi" in _test_module_names()) and (3, "kubeapi") in list(_imports(tree))
    assert _puts_tests_on_sys_path(tree) == [2]


def test_deliverables_neither_import_tooling_nor_locate_the_checkout() -> None:
    found = []
    for root in DELIVERABLES:
        for path in _python_files(root):
            tree = ast.parse(path.read_text(), filename=str(path))
            where = path.relative_to(REPO)
            found += [
                f"{where}:{line} imports {name}" for line, name in _imports(tree) if name in TOOLING
            ]
            found += [
                f"{where}:{node.lineno} finds the checkout from __file__"
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute)
                and node.attr == "parents"
                and "__file__" in ast.unparse(node)
            ]
    assert not found, "shipped code must not depend on a checkout:\n" + "\n".join(found)
