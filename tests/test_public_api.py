"""The public surface: closed, sorted, documented and typed."""

from __future__ import annotations

import enum
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import pytest

import bitunix_trio
import bitunix_trio.testing

PUBLIC_MODULES = [bitunix_trio, bitunix_trio.testing]


def _sort_key(name: str) -> tuple[int, str]:
    if name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_all_is_sorted_and_complete(module: ModuleType) -> None:
    names = module.__all__
    # Constants, then classes, then functions and dunders (ruff's RUF022 order).
    assert names == sorted(names, key=_sort_key)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(module, name), name
    # Every public attribute that is not a submodule is listed in __all__.
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and name not in {"annotations"}
    }
    assert public <= set(names), public - set(names)


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_public_objects_claim_the_public_module(module: ModuleType) -> None:
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == module.__name__, f"{name}.__module__ = {obj.__module__}"


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_public_objects_are_documented(module: ModuleType) -> None:
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
            if inspect.isclass(obj) and not issubclass(obj, (BaseException, enum.Enum)):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not callable(member):
                        continue
                    assert inspect.getdoc(member), f"{name}.{attr} has no docstring"


def test_package_is_typed() -> None:
    assert (Path(bitunix_trio.__file__).parent / "py.typed").is_file()


def test_private_modules_are_private() -> None:
    package_dir = Path(bitunix_trio.__file__).parent
    for path in package_dir.rglob("*.py"):
        relative = path.relative_to(package_dir)
        if relative.name in {"__init__.py", "__main__.py"}:
            continue
        assert any(part.startswith("_") for part in relative.parts), relative


def test_reimport_is_stable() -> None:
    again = importlib.reload(bitunix_trio)
    assert again.__all__ == bitunix_trio.__all__
