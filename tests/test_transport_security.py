"""Transport security: clear-text URLs to other machines are refused, ``ssl_context=`` is
used for both WebSocket and REST, and no context may silently skip verification."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
from tls_proxy import open_tls_proxy

from bitunix_trio._core.channels import Ticker
from bitunix_trio._core.config import check_transport_url, is_loopback_host
from bitunix_trio._core.errors import ConfigurationError, TlsCertificateError
from bitunix_trio._rest.client import open_rest_client
from bitunix_trio._stream.connector import Connector
from bitunix_trio._stream.open import open_bitunix_stream
from bitunix_trio.testing import SimulatedExchange


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fail any attempt to open a TCP connection (these tests must be refused before)."""
    attempts: list[object] = []

    async def refuse(*args: object, **kwargs: object) -> Any:
        attempts.append(args)
        raise AssertionError(f"tried to connect to {args}")

    monkeypatch.setattr(trio, "open_tcp_stream", refuse)
    monkeypatch.setattr(trio, "open_ssl_over_tcp_stream", refuse)
    return attempts


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1"],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["fapi.bitunix.com", "10.0.0.1", "128.0.0.1", "::2", "localhost.example", "", None]
)
def test_other_hosts(host: str | None) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://localhost",
        "http://[::1]:9000/x",
        "ws://127.0.0.1:1/public/",
        "https://fapi.bitunix.com",
        "wss://fapi.bitunix.com/public/",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert check_transport_url(url, "url", allow_insecure_transport=False) == url


async def test_rest_refuses_clear_text_to_another_host(no_network: list[object]) -> None:
    with pytest.raises(ConfigurationError, match=r"clear text.*https://"):
        async with open_rest_client(None, "http://fapi.bitunix.com"):
            pass
    async with open_rest_client(None, "http://fapi.bitunix.com", allow_insecure_transport=True):
        pass
    async with open_rest_client(None, "http://127.0.0.1:9"):
        pass
    assert no_network == []


@pytest.mark.parametrize(
    ("option", "url"),
    [
        ("public_url", "ws://fapi.bitunix.com/public/"),
        ("private_url", "ws://10.1.2.3/private/"),
        ("rest_url", "http://fapi.bitunix.com"),
    ],
)
async def test_stream_refuses_clear_text_to_another_host(
    no_network: list[object], option: str, url: str, transport: Connector
) -> None:
    with pytest.raises(ConfigurationError, match=f"{option} .*clear text"):
        async with open_bitunix_stream(**{option: url}, connector=transport):  # type: ignore[arg-type]
            pass
    assert no_network == []


def unverified_contexts() -> list[Any]:
    no_check = ssl.create_default_context()
    no_check.check_hostname = False
    none = ssl.create_default_context()
    none.check_hostname = False
    none.verify_mode = ssl.CERT_NONE
    return [
        pytest.param(no_check, "check_hostname", id="no-hostname-check"),
        pytest.param(none, "verify_mode", id="cert-none"),
    ]


@pytest.mark.parametrize(("context", "what"), unverified_contexts())
async def test_unverified_ssl_context_is_refused(
    no_network: list[object], context: ssl.SSLContext, what: str, transport: Connector
) -> None:
    with pytest.raises(ConfigurationError, match=what):
        async with open_rest_client(None, ssl_context=context):
            pass
    with pytest.raises(ConfigurationError, match=what):
        async with open_bitunix_stream(ssl_context=context, connector=transport):
            pass
    async with open_rest_client(None, ssl_context=context, allow_insecure_transport=True):
        pass
    assert no_network == []


async def test_ssl_context_must_be_one() -> None:
    with pytest.raises(ConfigurationError, match=r"ssl\.SSLContext"):
        async with open_rest_client(None, ssl_context="verify"):  # type: ignore[arg-type]
            pass


@pytest.mark.loopback
async def test_ssl_context_verifies_websocket_and_rest(
    sim: SimulatedExchange, transport: Connector
) -> None:
    ws_port = urlsplit(sim.public_url).port
    rest_port = urlsplit(sim.rest_url).port
    assert ws_port is not None
    assert rest_port is not None
    async with open_tls_proxy(ws_port) as ws_proxy, open_tls_proxy(rest_port) as rest_proxy:
        # Both proxies' certificates come from one private CA the client is told to trust.
        rest_proxy.ca.configure_trust(context := ws_proxy.client_context())
        options: dict[str, Any] = {
            "credentials": sim.credentials,
            "public_url": f"wss://127.0.0.1:{ws_proxy.port}/public/",
            "private_url": f"wss://127.0.0.1:{ws_proxy.port}/private/",
            "rest_url": f"https://127.0.0.1:{rest_proxy.port}",
            "connector": transport,
        }
        async with (
            open_bitunix_stream(**options, ssl_context=context) as stream,
            stream.subscribe(Ticker("BTCUSDT")) as tickers,
        ):
            async for _ in tickers:
                break
            balance = await stream.rest.get_account()
            assert balance is not None
        # Without it, the system's trust store does not know the private CA.
        with pytest.raises(TlsCertificateError, match="certificate"):
            async with open_bitunix_stream(**options):
                pass
        async with open_rest_client(sim.credentials, options["rest_url"]) as rest:
            with pytest.raises(TlsCertificateError, match="certificate"):
                await rest.get_account()
