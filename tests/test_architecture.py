"""The layout holds: the library's public surface is pinned, imports point one way, modules stay small."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import memory

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
# The only chat-app modules that talk to Chainlit; the handlers and the rest never import it.
CHAINLIT_ADAPTERS = {
    "app.py",
    "chatapp/chainlit_page.py",
    "chatapp/element_storage.py",
    "chatapp/routes.py",
    "chatapp/assets.py",
}


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        path = ROOT / folder
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names) of every import in the file, relative imports resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            yield module, [alias.name for alias in node.names]


def test_the_public_surface_is_pinned() -> None:
    assert memory.__all__ == [
        "AddResult",
        "AddResultItem",
        "AsyncMemory",
        "ConfigError",
        "Database",
        "DeletedMemory",
        "DimensionMismatchError",
        "EmbedderConfig",
        "ExtractionError",
        "GetAllResults",
        "HistoryEntry",
        "InvalidInputError",
        "LLMConfig",
        "Memory",
        "MemoryConfig",
        "MemoryItem",
        "MemoryLayerError",
        "MemoryNotFoundError",
        "MessageResult",
        "Migration",
        "ModelError",
        "SearchResult",
        "SearchResults",
        "StoreError",
        "StoreLockedError",
        "VectorStoreConfig",
        "count_tokens",
        "is_postgres_url",
        "libpq_url",
        "migrate",
        "milvus_uri_from_env",
        "open_database",
        "quoted",
        "render_prompt",
        "sqlalchemy_url",
        "truncate_to_tokens",
    ]
    assert all(hasattr(memory, name) for name in memory.__all__)


def test_the_app_uses_only_the_librarys_public_surface() -> None:
    wrong = []
    for path in _python_files("app.py", "chatapp"):
        for module, names in _imports(path):
            if module.startswith("memory.") or (module == "memory" and not names):
                wrong.append(f"{path.relative_to(ROOT)}: import {module}")
            elif module == "memory":
                wrong.extend(f"{path.relative_to(ROOT)}: memory.{n}" for n in names if n not in memory.__all__)
    assert wrong == []


def test_the_library_imports_nothing_of_the_app_its_benchmarks_or_its_tests() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in _python_files("memory")
        for module, _ in _imports(path)
        if module.split(".")[0] in ("chainlit", "chatapp", "bench", "tests", "app")
    ]
    assert wrong == []


def test_benchmarks_do_not_import_tests_and_only_adapters_import_chainlit() -> None:
    bench_to_tests = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in _python_files("bench")
        for module, _ in _imports(path)
        if module.split(".")[0] == "tests"
    ]
    assert bench_to_tests == []
    with_chainlit = {
        str(path.relative_to(ROOT))
        for path in _python_files("app.py", "chatapp")
        if any(module.split(".")[0] == "chainlit" for module, _ in _imports(path))
    }
    assert with_chainlit <= CHAINLIT_ADAPTERS


def test_no_module_is_longer_than_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _python_files("app.py", "memory", "chatapp", "bench", "tests")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
