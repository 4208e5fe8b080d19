"""The layers of the package hold: the import-linter contracts of ``pyproject.toml`` (the
sans-I/O core imports nothing of the shell, each layer only the ones below it, the stream
reaches REST only through its declared seam, the simulated exchange's engine imports no
server, no import cycle), TYPE_CHECKING imports included; and the pure parts import no
third-party library other than msgspec, a pure codec.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.application import use_cases

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "bitunix_trio"

#: Packages that decide and never wait: standard library and these libraries only.
PURE_PACKAGES = ("bitunix_trio._core", "bitunix_trio.testing._engine")
#: msgspec parses and type-checks bytes in memory (no I/O, no event loop, no global state).
ALLOWED_LIBRARIES = frozenset({"msgspec"})


def test_import_contracts(capsys: pytest.CaptureFixture[str]) -> None:
    # The library's API, not its command line (which reconfigures every logger).
    configuration.configure()
    passed = use_cases.lint_imports(
        config_filename=str(ROOT / "pyproject.toml"),
        cache_dir=None,
        no_logo=True,
        is_debug_mode=True,
    )
    output = capsys.readouterr().out
    assert passed, output
    assert "0 broken" in output


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, include_external_packages=True, cache_dir=None)


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_import_only_the_standard_library(
    graph: grimp.ImportGraph, package: str
) -> None:
    modules = {package} | graph.find_descendants(package)
    assert len(modules) > 5  # the scan never silently finds nothing
    found = set()
    for module in sorted(modules):
        for imported in graph.find_modules_directly_imported_by(module):
            top = imported.partition(".")[0]
            if top == PACKAGE or top in sys.stdlib_module_names or top in ALLOWED_LIBRARIES:
                continue
            found.add(f"{module} -> {imported}")
    assert not found, "pure modules import third-party libraries:\n" + "\n".join(sorted(found))


def test_the_check_sees_type_checking_and_deferred_imports(graph: grimp.ImportGraph) -> None:
    # A TYPE_CHECKING import and an import inside a function are both in the graph.
    assert graph.direct_import_exists(
        importer="bitunix_trio._stream.candles", imported="bitunix_trio._stream.connection"
    )
    assert graph.direct_import_exists(
        importer="bitunix_trio._cli.common", imported="bitunix_trio.testing"
    )


# -- no module reads another class's private members ------------------------------------------

#: Private members of third-party objects the transports reach on purpose (each guarded:
#: a release that renames them only makes the transport slower).
THIRD_PARTY_PRIVATE = {
    # trio-websocket's send channel, swapped for one without a schedule point per message
    ("bitunix_trio/_stream/connector.py", "ws._send_channel"),
    # the buffer of websockets' own memory channel, which websockets itself reaches into
    ("bitunix_trio/_stream/websockets_connector.py", "assembler.send_frames._state"),
}


def private_accesses(source: str) -> list[tuple[int, str]]:
    """``obj._name`` in ``source`` where ``obj`` is not ``self``/``cls`` nor a class of the
    module itself (dunder names are not private)."""
    tree = ast.parse(source)
    own_classes = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ({"self", "cls"} | own_classes):
            continue
        found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_no_module_reads_another_class_private_members() -> None:
    package = ROOT / PACKAGE
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, text in private_accesses(path.read_text(encoding="utf-8")):
            if (rel, text) not in THIRD_PARTY_PRIVATE:
                found.append(f"{rel}:{line}: {text}")
    assert not found, "private members read from outside their class:\n" + "\n".join(found)


def test_the_scan_finds_private_reads() -> None:
    source = """
class Own:
    def __init__(self, other):
        self._mine = 1
        Own._helper
        other._theirs
        stream._pool.slots()
        self.x.__class__
        cls._fine
"""
    assert private_accesses(source) == [(6, "other._theirs"), (7, "stream._pool")]
