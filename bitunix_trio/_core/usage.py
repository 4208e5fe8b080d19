"""Context managers that say how to use them when used any other way than ``async with``.

``open_bitunix_stream(...)``, ``open_rest_client(...)`` and ``stream.subscribe(...)`` return
objects that only make sense in an ``async with`` block. Forgetting it would otherwise give
an ``AttributeError`` about a private class (``'_AsyncGeneratorContextManager' object has
no attribute 'subscribe'``); here it gives :class:`~bitunix_trio.UsageError` with the line
to write, the way Trio answers ``with trio.open_nursery()``::

    UsageError: bitunix_trio.open_bitunix_stream(...) is used without 'async with':
    'subscribe' belongs to the stream, which exists only inside the block. Write:

        async with bitunix_trio.open_bitunix_stream(...) as stream:
            ... stream.subscribe ...

The teaching methods (``__getattr__``, ``__await__``, ``__aiter__``, ``__enter__``) exist
at run time only: a type checker does not see them, so it reports the same mistakes
statically, and code written correctly gets exact types.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, ParamSpec, TypeVar

from .errors import UsageError

__all__ = ["AsyncWithOnly", "GeneratorContext", "async_with_only"]

T = TypeVar("T")
P = ParamSpec("P")


class AsyncWithOnly:
    """Base of an async context manager that teaches ``async with`` when misused.

    Subclasses set ``_call`` (how the user made it, e.g. ``"stream.subscribe(...)"``),
    ``_target`` (the usual name after ``as``), ``_noun`` (what the block's value is),
    ``_target_type`` (its class, to show how an attribute is used) and ``_iterable``
    (whether the block's value is iterated with ``async for``).
    """

    __slots__ = ()

    _call: ClassVar[str] = "this context manager"
    _target: ClassVar[str] = "value"
    _noun: ClassVar[str] = "value"
    _target_type: ClassVar[type | None] = None
    _iterable: ClassVar[bool] = False

    def _use_of(self, name: str) -> str:
        """How ``name`` is used on the block's value (a call, an awaited call, a property)."""
        target = self._target
        member = inspect.getattr_static(self._target_type, name, None)
        if member is None:
            return f"... {target}.{name} ..."
        if isinstance(member, staticmethod | classmethod):
            member = member.__func__
        if inspect.iscoroutinefunction(member):
            return f"... await {target}.{name}(...) ..."
        if callable(member):
            return f"... {target}.{name}(...) ..."
        return f"... {target}.{name} ..."

    def _usage_error(self, problem: str, line: str) -> UsageError:
        call, target = self._call, self._target
        return UsageError(
            f"{call} is used without 'async with': {problem}. Write:\n\n"
            f"    async with {call} as {target}:\n"
            f"        {line}\n"
        )

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name.startswith("_"):
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}",
                    name=name,
                    obj=self,
                )
            raise self._usage_error(
                f"{name!r} belongs to the {self._noun}, which exists only inside the block",
                self._use_of(name),
            )

        def __await__(self) -> Any:
            raise self._usage_error("it cannot be awaited", "...")

        def __aiter__(self) -> Any:
            if self._iterable:
                raise self._usage_error(
                    f"iterate over the {self._noun} it gives",
                    f"async for value in {self._target}:",
                )
            raise self._usage_error("it is not iterable", "...")

        def __enter__(self) -> Any:
            raise self._usage_error("'with' needs to be 'async with'", "...")

        def __exit__(self, *exc_info: object) -> None:  # pragma: no cover - never entered
            return None


class GeneratorContext(AsyncWithOnly, Generic[T]):
    """An ``@asynccontextmanager`` context that teaches ``async with`` (see the module)."""

    __slots__ = ("_cm",)

    def __init__(self, cm: AbstractAsyncContextManager[T]) -> None:
        self._cm = cm

    async def __aenter__(self) -> T:
        return await self._cm.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._cm.__aexit__(exc_type, exc, tb)


def async_with_only(
    call: str, target: str, noun: str, target_type: type
) -> Callable[[Callable[P, AsyncIterator[T]]], Callable[P, GeneratorContext[T]]]:
    """Like ``@asynccontextmanager``, for a context that teaches ``async with`` when misused:
    ``call`` is how the user calls it, ``target`` the usual name after ``as``, ``noun`` and
    ``target_type`` what the block's value is."""

    def decorate(func: Callable[P, AsyncIterator[T]]) -> Callable[P, GeneratorContext[T]]:
        manager = asynccontextmanager(func)
        context = type(
            f"{target.capitalize()}Context",
            (GeneratorContext,),
            {
                "__slots__": (),
                "__module__": func.__module__,
                "_call": call,
                "_target": target,
                "_noun": noun,
                "_target_type": target_type,
            },
        )

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> GeneratorContext[T]:
            made: GeneratorContext[T] = context(manager(*args, **kwargs))
            return made

        return wrapper

    return decorate
