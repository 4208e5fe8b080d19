"""The error tree: hierarchy, messages, copy and pickle."""

from __future__ import annotations

import copy
import pickle

import pytest
import trio

import bitunix_trio as bt
from bitunix_trio._core import errors
from bitunix_trio._stream import errors as stream_errors

ALL_ERRORS: list[BaseException] = [
    errors.BitunixError("boom"),
    errors.ConfigurationError("bad depth"),
    errors.TransportError("net"),
    errors.ConnectError("refused"),
    errors.ConnectTimeout("slow"),
    errors.ConnectionLost(1006, "WebSocket disconnected"),
    errors.ConnectionLost(),
    errors.ProtocolError("x"),
    errors.LocalProtocolError("x"),
    errors.RemoteProtocolError("x"),
    errors.ExchangeError("this Futures is not allowed to trade.", 20015),
    errors.AuthenticationError(),
    errors.AuthenticationError("Signature error", 10007),
    errors.SubscriptionRejected("subscribe channel > 300", None, ("ticker", "BTCUSDT")),
    errors.RateLimited("Request too frequently", 10006),
    errors.RestError("Bad gateway", 502, None),
    errors.StreamFailed("gone"),
    errors.BitunixInternalError(),
    stream_errors.SubscriptionLost("stream failed", ("trade", "BTCUSDT")),
    stream_errors.ConsumerTooSlow(),
    stream_errors.StreamClosed("closed"),
]


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: type(e).__name__)
def test_copy_and_pickle_round_trip(error: BaseException) -> None:
    for clone in (copy.copy(error), copy.deepcopy(error), pickle.loads(pickle.dumps(error))):
        assert type(clone) is type(error)
        assert clone.args == error.args
        assert str(clone) == str(error)
        assert vars(clone) == vars(error)


def test_hierarchy() -> None:
    assert issubclass(bt.ConfigurationError, ValueError)
    assert issubclass(bt.ConnectTimeout, bt.ConnectError)
    assert issubclass(bt.ConnectionLost, bt.TransportError)
    assert issubclass(bt.AuthenticationError, bt.ExchangeError)
    assert issubclass(bt.SubscriptionRejected, bt.ExchangeError)
    assert issubclass(bt.RateLimited, bt.ExchangeError)
    assert issubclass(bt.SubscriptionLost, trio.BrokenResourceError)
    assert issubclass(bt.ConsumerTooSlow, bt.SubscriptionLost)
    assert issubclass(bt.StreamClosed, trio.ClosedResourceError)
    for name in (
        "ConfigurationError",
        "TransportError",
        "ProtocolError",
        "ExchangeError",
        "RestError",
        "SubscriptionLost",
        "StreamClosed",
        "StreamFailed",
        "BitunixInternalError",
    ):
        assert issubclass(getattr(bt, name), bt.BitunixError)


def test_messages_users_expect() -> None:
    assert str(bt.AuthenticationError()) == "Authentication failed"
    assert str(bt.ConnectionLost(1006)) == "WebSocket disconnected (close code 1006)"
    assert str(bt.SubscriptionRejected()) == "Subscription failed"
    assert str(bt.ExchangeError("Signature error", 10007)) == "Signature error (code 10007)"
    assert str(bt.RestError("Service Unavailable", 503)) == "Service Unavailable (HTTP 503)"
    assert "please report a bug" in str(bt.BitunixInternalError())
