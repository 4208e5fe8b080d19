"""Configuration values: defaults, immutability and validation messages."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from bitunix_trio._core.config import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_HEARTBEAT,
    DEFAULT_RECONNECT_POLICY,
    MAX_HEARTBEAT_INTERVAL,
    HeartbeatConfig,
    ReconnectPolicy,
    check_buffer_size,
)
from bitunix_trio._core.errors import ConfigurationError


def test_defaults() -> None:
    assert (
        ReconnectPolicy(
            initial_delay=0.5,
            max_delay=30.0,
            factor=2.0,
            stable_after=30.0,
            max_attempts=None,
            connect_timeout=10.0,
            relogin_retries=5,
        )
        == DEFAULT_RECONNECT_POLICY
    )
    assert HeartbeatConfig(interval=15.0, timeout=5.0, stale_after=10.0) == DEFAULT_HEARTBEAT
    assert DEFAULT_BUFFER_SIZE == 256
    assert MAX_HEARTBEAT_INTERVAL < 60


def test_frozen_slotted_hashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_RECONNECT_POLICY.initial_delay = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_HEARTBEAT.interval = 1.0  # type: ignore[misc]
    for value in (DEFAULT_RECONNECT_POLICY, DEFAULT_HEARTBEAT):
        assert not hasattr(value, "__dict__")
        assert hash(value) == hash(copy.copy(value))
        assert pickle.loads(pickle.dumps(value)) == value


def test_replace_validates() -> None:
    policy = dataclasses.replace(DEFAULT_RECONNECT_POLICY, max_attempts=3)
    assert policy.max_attempts == 3
    with pytest.raises(ConfigurationError):
        dataclasses.replace(DEFAULT_HEARTBEAT, timeout=20.0)


def test_integers_accepted() -> None:
    policy = ReconnectPolicy(initial_delay=1, max_delay=60, factor=3, stable_after=0)
    assert policy.max_delay == 60
    assert HeartbeatConfig(interval=20, timeout=1, stale_after=5).interval == 20


def reconnect_cases() -> list[object]:
    rows: list[tuple[dict[str, object], str]] = [
        ({"initial_delay": 0}, "ReconnectPolicy.initial_delay must be positive, got 0.0"),
        ({"initial_delay": -1.0}, "ReconnectPolicy.initial_delay must be positive, got -1.0"),
        (
            {"initial_delay": "1"},
            "ReconnectPolicy.initial_delay must be a number of seconds, got str",
        ),
        (
            {"initial_delay": True},
            "ReconnectPolicy.initial_delay must be a number of seconds, got bool",
        ),
        (
            {"max_delay": float("inf")},
            "ReconnectPolicy.max_delay must be finite, got inf",
        ),
        (
            {"max_delay": float("nan")},
            "ReconnectPolicy.max_delay must be finite, got nan",
        ),
        (
            {"initial_delay": 5.0, "max_delay": 1.0},
            "ReconnectPolicy.max_delay (1.0) must be at least initial_delay (5.0)",
        ),
        ({"factor": 0.5}, "ReconnectPolicy.factor must be a finite number >= 1, got 0.5"),
        (
            {"factor": float("inf")},
            "ReconnectPolicy.factor must be a finite number >= 1, got inf",
        ),
        ({"factor": None}, "ReconnectPolicy.factor must be a number, got NoneType"),
        (
            {"stable_after": -1},
            "ReconnectPolicy.stable_after must be zero or positive, got -1.0",
        ),
        (
            {"max_attempts": 0},
            "ReconnectPolicy.max_attempts must be at least 1 (or None), got 0",
        ),
        (
            {"max_attempts": 2.0},
            "ReconnectPolicy.max_attempts must be an int or None, got float",
        ),
        (
            {"max_attempts": True},
            "ReconnectPolicy.max_attempts must be an int or None, got bool",
        ),
        (
            {"connect_timeout": 0},
            "ReconnectPolicy.connect_timeout must be positive, got 0.0",
        ),
        (
            {"relogin_retries": -1},
            "ReconnectPolicy.relogin_retries must be at least 0, got -1",
        ),
        (
            {"relogin_retries": None},
            "ReconnectPolicy.relogin_retries must be an int, got NoneType",
        ),
        (
            {"relogin_retries": True},
            "ReconnectPolicy.relogin_retries must be an int, got bool",
        ),
    ]
    return [pytest.param(kwargs, message, id=message) for kwargs, message in rows]


@pytest.mark.parametrize(("kwargs", "message"), reconnect_cases())
def test_reconnect_policy_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ReconnectPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def heartbeat_cases() -> list[object]:
    rows: list[tuple[dict[str, object], str]] = [
        ({"interval": 0}, "HeartbeatConfig.interval must be positive, got 0.0"),
        ({"timeout": -2}, "HeartbeatConfig.timeout must be positive, got -2.0"),
        ({"stale_after": 0.0}, "HeartbeatConfig.stale_after must be positive, got 0.0"),
        (
            {"stale_after": None},
            "HeartbeatConfig.stale_after must be a number of seconds, got NoneType",
        ),
        ({"interval": float("nan")}, "HeartbeatConfig.interval must be finite, got nan"),
        (
            {"interval": 60.0, "timeout": 5.0},
            "HeartbeatConfig.interval must be at most 45 s (the exchange drops a socket idle "
            "for about 60 s), got 60.0",
        ),
        (
            {"interval": 10.0, "timeout": 10.0},
            "HeartbeatConfig.timeout (10.0) must be less than interval (10.0)",
        ),
        (
            {"interval": 4.0},
            "HeartbeatConfig.timeout (5.0) must be less than interval (4.0)",
        ),
    ]
    return [pytest.param(kwargs, message, id=message) for kwargs, message in rows]


@pytest.mark.parametrize(("kwargs", "message"), heartbeat_cases())
def test_heartbeat_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        HeartbeatConfig(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_heartbeat_bounds_are_inclusive() -> None:
    assert HeartbeatConfig(interval=MAX_HEARTBEAT_INTERVAL).interval == 45.0
    assert HeartbeatConfig(interval=0.5, timeout=0.25, stale_after=0.1).timeout == 0.25


def test_check_buffer_size() -> None:
    assert check_buffer_size(1) == 1
    assert check_buffer_size(DEFAULT_BUFFER_SIZE) == 256
    with pytest.raises(ConfigurationError, match=r"^buffer must be at least 1, got 0$"):
        check_buffer_size(0)
    with pytest.raises(ConfigurationError, match=r"^buffer must be an int, got float$"):
        check_buffer_size(1.5)
    with pytest.raises(ConfigurationError, match=r"^size must be an int, got bool$"):
        check_buffer_size(True, name="size")
