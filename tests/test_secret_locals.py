"""No secret in the local variables of any frame an error passes through.

Error reporters that capture locals (Sentry, ``pytest --showlocals``, rich tracebacks)
``repr()`` every local of every frame of a traceback, descending into dicts, lists and
tuples, for the exception and everything chained to it. So does :func:`captured_locals`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Iterable, Iterator

import httpx
import pytest
import trio
import trio.testing

from bitunix_trio._core.credentials import Credentials
from bitunix_trio._core.errors import (
    AuthenticationError,
    BitunixError,
    ConfigurationError,
    ConnectionLost,
    TransportError,
)
from bitunix_trio._rest.client import open_rest_client
from bitunix_trio._stream.connector import WebSocketConnection
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio.testing import SimulatedExchange

SECRET = "ZQ9x-SeCrEt-7f4d-TOPSECRET-b2c8"
API_KEY = "ak0123456789abcdefXYZ"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        if isinstance(error, BaseExceptionGroup):
            todo.extend(error.exceptions)
        for linked in (error.__cause__, error.__context__):
            if linked is not None:
                todo.append(linked)


def _texts(value: object, depth: int = 0) -> Iterator[str]:
    try:
        yield repr(value)
    except Exception as exc:  # a broken repr is the reporter's problem, not a leak
        yield f"<repr failed: {type(exc).__name__}>"
    if depth >= 6:
        return
    if isinstance(value, dict):
        for key, item in list(value.items())[:1000]:
            yield from _texts(key, depth + 1)
            yield from _texts(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in list(value)[:1000]:
            yield from _texts(item, depth + 1)


def captured_locals(exc: BaseException) -> Iterator[tuple[str, str, str]]:
    """(function, variable, text) for every local of every frame of every chained error."""
    for error in _chain(exc):
        tb = error.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            tb = tb.tb_next
            if frame.f_code.co_filename == __file__ and frame.f_code.co_name.startswith("test_"):
                continue  # the test's own frames (which catch the error) hold what it sent
            for name, value in list(frame.f_locals.items()):
                for text in _texts(value):
                    yield frame.f_code.co_name, name, text


def assert_no_local_holds(exc: BaseException, secrets: Iterable[str]) -> None:
    wanted = [s for s in secrets if s]
    for function, name, text in captured_locals(exc):
        for secret in wanted:
            assert secret not in text, f"{function}() local {name!r} holds {secret!r}"


def signed_header_values(sim: SimulatedExchange) -> list[str]:
    """The nonce, timestamp and signature of every signed request the exchange saw."""
    values = []
    for request in sim.recorder.rest_requests():
        for key, value in request.headers:
            if key.lower() in ("nonce", "timestamp", "sign"):
                values.append(value)
    assert values, "no signed request reached the exchange"
    return values


# -- credentials -------------------------------------------------------------------------


def test_from_env_failure_does_not_capture_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BITUNIX_SECRET_KEY", SECRET)
    monkeypatch.delenv("BITUNIX_API_KEY", raising=False)
    with pytest.raises(ConfigurationError) as info:
        Credentials.from_env()
    assert_no_local_holds(info.value, [SECRET])
    with pytest.raises(ConfigurationError) as info:
        Credentials.load()
    assert_no_local_holds(info.value, [SECRET])


def test_from_env_bad_value_does_not_capture_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITUNIX_API_KEY", API_KEY)
    monkeypatch.setenv("BITUNIX_SECRET_KEY", f" {SECRET}")
    with pytest.raises(ConfigurationError, match="whitespace") as info:
        Credentials.from_env()
    assert_no_local_holds(info.value, [SECRET])
    env = {"BITUNIX_API_KEY": f"{API_KEY} ", "BITUNIX_SECRET_KEY": SECRET}
    with pytest.raises(ConfigurationError, match="whitespace") as info:
        Credentials.from_env(env)
    assert_no_local_holds(info.value, [SECRET, API_KEY])


# -- REST ----------------------------------------------------------------------------------


async def test_rest_refusal_after_signing(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    wrong = dataclasses.replace(memory_sim.credentials, secret_key=SECRET)
    options = {**memory_sim.rest_options(), "credentials": wrong}
    async with open_rest_client(**options) as rest:
        with pytest.raises(AuthenticationError) as info:
            await rest.get_account()
    assert_no_local_holds(info.value, [SECRET, wrong.api_key, *signed_header_values(memory_sim)])


@pytest.mark.loopback
async def test_rest_connection_dropped_after_signing() -> None:
    received: list[bytes] = []

    async def hang_up(stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await stream.receive_some()
            if not chunk:
                break
            data += chunk
        received.append(data)
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, hang_up, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        credentials = Credentials(API_KEY, SECRET)
        async with open_rest_client(credentials, f"http://127.0.0.1:{port}", max_retries=0) as rest:
            with pytest.raises(TransportError) as info:
                await rest.get_account()
        nursery.cancel_scope.cancel()
    header_values = []
    for line in received[0].decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() in ("nonce", "timestamp", "sign"):
            header_values.append(value.strip())
    assert len(header_values) == 3
    assert_no_local_holds(info.value, [SECRET, API_KEY, *header_values])


# -- WebSocket login ---------------------------------------------------------------------------


async def test_login_refusal(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    wrong = dataclasses.replace(memory_sim.credentials, secret_key=SECRET)
    options = {**memory_sim.stream_options(), "credentials": wrong}
    with pytest.raises(BitunixError) as info:
        async with open_bitunix_stream(**options):
            pass
    assert isinstance(info.value, AuthenticationError)
    assert_no_local_holds(info.value, [SECRET, wrong.api_key])


def test_walker_finds_a_captured_secret() -> None:
    def leaky(token: str) -> None:
        headers = {"sign": [token]}
        raise ValueError(len(headers))

    with pytest.raises(ValueError) as info:
        leaky(SECRET)
    with pytest.raises(AssertionError, match="holds"):
        assert_no_local_holds(info.value, [SECRET])
    assert os.environ  # (the environment itself is only read, never bound, by the library)


class _LoginFails:
    """A WebSocket whose peer is gone by the time the login frame is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def receive(self) -> str:
        await trio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async def send(self, message: str) -> None:
        self.sent.append(message)
        if '"op":"login"' in message:
            raise ConnectionLost(1006)

    async def aclose(self) -> None:
        pass

    async def abort(self) -> None:
        pass


async def test_login_send_failure(autojump_clock: trio.testing.MockClock) -> None:
    sockets: list[_LoginFails] = []

    async def connector(nursery: trio.Nursery, url: str) -> WebSocketConnection:
        sockets.append(_LoginFails())
        return sockets[-1]

    credentials = Credentials(API_KEY, SECRET)
    with pytest.raises(ConnectionLost) as info:
        async with open_bitunix_stream(
            credentials,
            connector=connector,
            rest_transport=httpx.MockTransport(lambda request: httpx.Response(503)),
            fallback_grace=None,
            reconcile_interval=None,
            reconcile_quiet_after=None,
        ):
            pass
    login = next(m for s in sockets for m in s.sent if '"op":"login"' in m)
    values = [str(v) for v in json.loads(login)["args"][0].values()]
    assert API_KEY in values
    assert_no_local_holds(info.value, [SECRET, login, *values])
