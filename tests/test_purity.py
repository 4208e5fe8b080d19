"""The sans-I/O core imports only the standard library and other pure modules.

Every ``import`` and ``from ... import`` statement of a pure module (anywhere in the file:
module level, inside functions, under ``if TYPE_CHECKING:``), with relative imports
resolved, and every literal ``__import__("...")``/``importlib.import_module("...")`` call,
must name a standard-library module (``sys.stdlib_module_names``), a library of
``ALLOWED_LIBRARIES`` (pure codecs), or a pure module of this package. Pure modules that do
not exist (yet) are skipped.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

PACKAGE = "bitunix_trio"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE

#: Pure modules, as paths relative to the package directory (globs allowed).
PURE_PATTERNS = (
    "_exceptions.py",
    "_models.py",
    "_enums.py",
    "_wire.py",
    "_wire_encode.py",
    "_wire_rest.py",
    "_channels.py",
    "_frames.py",
    "_wire_fast.py",
    "_numbers.py",
    "_text.py",
    "_protocol.py",
    "_events.py",
    "_sharding.py",
    "_budget.py",
    "_reconcile.py",
    "_candles.py",
    "_backoff.py",
    "_signing.py",
    "_credentials.py",
    "_config.py",
    "testing/_engine*.py",
    "testing/_market.py",
    "testing/_matching.py",
)

#: Pure modules that exist from the start: the scan must never silently find nothing.
ALWAYS_PRESENT = ("_exceptions.py", "_backoff.py", "_signing.py", "_credentials.py", "_config.py")


def pure_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The pure modules that exist, sorted."""
    found: set[Path] = set()
    for pattern in PURE_PATTERNS:
        found.update(path for path in package_dir.glob(pattern) if path.is_file())
    return sorted(found)


def module_name(path: Path, package_dir: Path = PACKAGE_DIR) -> str:
    """``bitunix_trio/testing/_engine.py`` -> ``bitunix_trio.testing._engine``."""
    parts = path.relative_to(package_dir).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def pure_module_names(package_dir: Path = PACKAGE_DIR) -> frozenset[str]:
    """Dotted names of the pure modules: existing ones, plus every non-glob entry."""
    names = {module_name(path, package_dir) for path in pure_files(package_dir)}
    for pattern in PURE_PATTERNS:
        if "*" not in pattern:
            names.add(module_name(package_dir / pattern, package_dir))
    return frozenset(names)


def package_names(package_dir: Path = PACKAGE_DIR) -> frozenset[str]:
    """Dotted names of the package and its subpackages (importing one runs its
    ``__init__``, which is not pure)."""
    return frozenset(module_name(path, package_dir) for path in package_dir.rglob("__init__.py"))


class Violation(NamedTuple):
    """One forbidden import: where, and what it names."""

    file: str
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: imports {self.module!r}"


#: Third-party libraries pure modules may import: pure, I/O-free codecs only.
#: msgspec: the JSON decoder of ``_frames``/``_wire_fast`` (parses and type-checks bytes in
#: memory; no I/O, no event loop, no global state).
ALLOWED_LIBRARIES = frozenset({"msgspec"})


def _is_allowed(module: str) -> bool:
    top = module.partition(".")[0]
    return top in sys.stdlib_module_names or top in ALLOWED_LIBRARIES


def _resolve_from(current: str, is_package: bool, level: int, module: str | None) -> str | None:
    """The absolute module of ``from <level dots><module> import ...`` in ``current``."""
    if level == 0:
        return module
    parts = current.split(".")
    if not is_package:
        parts = parts[:-1]
    if level - 1 >= len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _literal_import_call(node: ast.Call) -> str | None:
    """The module named by ``__import__("x")`` or ``importlib.import_module("x")``."""
    func = node.func
    is_import = (isinstance(func, ast.Name) and func.id in ("__import__", "import_module")) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )
    if not is_import or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def find_violations(
    source: str,
    current: str,
    file: str,
    pure: frozenset[str],
    *,
    packages: frozenset[str] = frozenset({PACKAGE, f"{PACKAGE}.testing"}),
    is_package: bool = False,
) -> list[Violation]:
    """Every import in ``source`` (module ``current``) that is neither stdlib nor pure."""
    violations: list[Violation] = []

    def check(module: str, line: int) -> None:
        if module == PACKAGE or module.startswith(PACKAGE + "."):
            if module not in pure:
                violations.append(Violation(file, line, module))
        elif not _is_allowed(module):
            violations.append(Violation(file, line, module))

    for node in ast.walk(ast.parse(source, filename=file)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve_from(current, is_package, node.level, node.module)
            if target is None:
                dots = "." * node.level
                violations.append(Violation(file, node.lineno, f"{dots}{node.module or ''}"))
            elif target in packages:
                # `from <package> import name`: only pure submodules may be named.
                for alias in node.names:
                    check(f"{target}.{alias.name}", node.lineno)
            else:
                check(target, node.lineno)
        elif isinstance(node, ast.Call):
            literal = _literal_import_call(node)
            if literal is not None:
                check(literal, node.lineno)
    return sorted(violations, key=lambda v: (v.line, v.module))


def test_pure_modules_are_found() -> None:
    names = {path.relative_to(PACKAGE_DIR).as_posix() for path in pure_files()}
    assert set(ALWAYS_PRESENT) <= names


@pytest.mark.parametrize(
    "path", pure_files(), ids=lambda path: path.relative_to(PACKAGE_DIR).as_posix()
)
def test_pure_module_imports(path: Path) -> None:
    rel = path.relative_to(PACKAGE_DIR.parent).as_posix()
    violations = find_violations(
        path.read_text(encoding="utf-8"),
        module_name(path),
        rel,
        pure_module_names(),
        packages=package_names(),
        is_package=path.name == "__init__.py",
    )
    assert not violations, "pure module imports outside the standard library:\n" + "\n".join(
        str(v) for v in violations
    )


# ------------------------------------------------------------------ the checker itself

SAMPLE = """\
from __future__ import annotations
import json, os.path
from collections.abc import Mapping
from typing import TYPE_CHECKING
from .._models import Order
from .. import _exceptions, _frames
from . import _market
from ._engine_wire import encode
import bitunix_trio._signing

if TYPE_CHECKING:
    import trio

def later():
    import httpx.x
    from trio_websocket import connect
    from .. import _connector
    from . import _faults, _market
    from .._stream import open_bitunix_stream
    import bitunix_trio
    import bitunix_trio.testing._exchange
    from ... import beyond
    __import__("hypercorn")
    importlib.import_module("json")
    importlib.import_module("trio.testing")
    import_module(name)
"""


def test_checker_finds_every_forbidden_import() -> None:
    pure = frozenset(
        {
            "bitunix_trio._models",
            "bitunix_trio._exceptions",
            "bitunix_trio._frames",
            "bitunix_trio._signing",
            "bitunix_trio.testing._market",
            "bitunix_trio.testing._engine_wire",
        }
    )
    found = find_violations(SAMPLE, "bitunix_trio.testing._engine", "x/_engine.py", pure)
    assert [str(v) for v in found] == [
        "x/_engine.py:12: imports 'trio'",
        "x/_engine.py:15: imports 'httpx.x'",
        "x/_engine.py:16: imports 'trio_websocket'",
        "x/_engine.py:17: imports 'bitunix_trio._connector'",
        "x/_engine.py:18: imports 'bitunix_trio.testing._faults'",
        "x/_engine.py:19: imports 'bitunix_trio._stream'",
        "x/_engine.py:20: imports 'bitunix_trio'",
        "x/_engine.py:21: imports 'bitunix_trio.testing._exchange'",
        "x/_engine.py:22: imports '...'",
        "x/_engine.py:23: imports 'hypercorn'",
        "x/_engine.py:25: imports 'trio.testing'",
    ]


def test_relative_imports_resolve() -> None:
    assert _resolve_from("bitunix_trio._frames", False, 1, "_models") == "bitunix_trio._models"
    assert _resolve_from("bitunix_trio._frames", False, 1, None) == "bitunix_trio"
    assert _resolve_from("bitunix_trio.testing._engine", False, 2, None) == "bitunix_trio"
    assert (
        _resolve_from("bitunix_trio.testing._engine", False, 1, "_market")
        == "bitunix_trio.testing._market"
    )
    assert _resolve_from("bitunix_trio.testing", True, 1, "_market") == (
        "bitunix_trio.testing._market"
    )
    assert _resolve_from("bitunix_trio._frames", False, 2, None) is None
    assert _resolve_from("bitunix_trio._frames", False, 0, "json") == "json"


def test_module_names(tmp_path: Path) -> None:
    (tmp_path / "testing").mkdir()
    for rel in ("_models.py", "_stream.py", "testing/_engine.py", "testing/_engine_x.py"):
        (tmp_path / rel).write_text("", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in pure_files(tmp_path)] == [
        "_models.py",
        "testing/_engine.py",
        "testing/_engine_x.py",
    ]
    names = pure_module_names(tmp_path)
    assert "bitunix_trio.testing._engine_x" in names
    assert "bitunix_trio._protocol" in names  # listed, not yet written
    assert "bitunix_trio._stream" not in names
    assert module_name(tmp_path / "testing" / "__init__.py", tmp_path) == "bitunix_trio.testing"
    assert package_names(tmp_path) == frozenset()
    (tmp_path / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "testing" / "__init__.py").write_text("", encoding="utf-8")
    assert package_names(tmp_path) == {"bitunix_trio", "bitunix_trio.testing"}
    assert {"bitunix_trio", "bitunix_trio.testing"} <= package_names()
