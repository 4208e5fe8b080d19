"""The layers of the package hold: the import-linter contracts of ``pyproject.toml`` (the
sans-I/O core imports nothing of the shell, each layer only the ones below it, the stream
reaches REST only through its declared seam, the simulated exchange's engine imports no
server, no import cycle), TYPE_CHECKING imports included; and the pure parts import no
third-party library other than msgspec, a pure codec.
"""

from __future__ import annotations

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
        importer="bitunix_trio._stream.channel", imported="bitunix_trio._stream.stream"
    )
    assert graph.direct_import_exists(
        importer="bitunix_trio._stream.open", imported="bitunix_trio._rest.client"
    )
