"""The storage initializer ships alone in its own small image: it may import only itself,
the standard library and its own pinned dependencies, and never aiohttp's server side."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import kserve_server.storage

PACKAGE = Path(kserve_server.storage.__file__).parent
ALLOWED_THIRD_PARTY = {
    "aiohttp",
    "pydantic",
    "pydantic_settings",
    "boto3",
    "botocore",
    "cryptography",
    "huggingface_hub",
    "httpx2",  # huggingface_hub's HTTP client: its transport errors are mapped in hf.py
}


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def offending(name: str) -> bool:
    top = name.split(".", maxsplit=1)[0]
    if top == "kserve_server":
        return not name.startswith("kserve_server.storage")
    if top == "aiohttp":
        return name.startswith("aiohttp.web")
    return top not in sys.stdlib_module_names | ALLOWED_THIRD_PARTY | {"__future__"}


def test_storage_imports_only_itself_the_stdlib_and_its_own_dependencies() -> None:
    offenders = [
        f"{path.name}: {name}"
        for path in sorted(PACKAGE.glob("*.py"))
        for name in imported_modules(path)
        if offending(name)
    ]
    assert offenders == []


def test_the_check_catches_the_server_side_of_aiohttp() -> None:
    assert offending("aiohttp.web") and offending("kserve_server.rest.app")
    assert not offending("aiohttp") and not offending("kserve_server.storage.gcs")
