"""Credentials: redaction everywhere, and loading from the environment and from files."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pickle
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from bitunix_trio._core.credentials import (
    MAX_FILE_SIZE,
    Credentials,
    InsecureCredentialsFileWarning,
)
from bitunix_trio._core.errors import ConfigurationError

SECRET = "ZQ9x-SeCrEt-7f4d-TOPSECRET-b2c8"
# Fragments that must not leak either (a truncated secret is still a leak).
FRAGMENTS = (SECRET, "SeCrEt", "TOPSECRET", "ZQ9x", "b2c8")
API_KEY = "ak0123456789abcdefXYZ"


def cases(*rows: tuple[object, ...]) -> list[object]:
    """Parameter sets named by their expected message: ids end up in paths and reports,
    so they must not contain the fake secret either."""
    return [pytest.param(*row, id=str(row[-1])) for row in rows]


def assert_no_secret_in(text: str) -> None:
    for fragment in FRAGMENTS:
        assert fragment not in text, f"secret fragment {fragment!r} leaked in {text!r}"


def assert_exception_clean(exc: BaseException) -> None:
    """Nothing reachable from the exception mentions the secret."""
    assert exc.__cause__ is None
    assert exc.__context__ is None
    assert_no_secret_in(str(exc))
    assert_no_secret_in(repr(exc))
    assert_no_secret_in(repr(exc.args))
    assert_no_secret_in("".join(traceback.format_exception(exc)))
    assert_no_secret_in(repr(getattr(exc, "__notes__", None)))


def raised(fn: Callable[[], object]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        fn()
    assert_exception_clean(info.value)
    return info.value


# ------------------------------------------------------------------ the value


def test_repr_str_format_are_redacted() -> None:
    creds = Credentials(API_KEY, SECRET)
    expected = "Credentials(api_key='ak01…fXYZ', secret_key=<redacted>)"
    assert repr(creds) == expected
    assert str(creds) == expected
    assert f"{creds}" == expected
    assert format(creds, "") == expected
    assert f"{creds!r} {creds!s} {creds!a}".count("<redacted>") == 3
    assert f"{creds:>80}" == expected.rjust(80)
    for text in (repr(creds), str(creds), f"{creds:^100}", repr([creds]), repr({"c": creds})):
        assert_no_secret_in(text)
    assert API_KEY not in repr(creds)


def test_bad_format_spec_does_not_leak() -> None:
    creds = Credentials(API_KEY, SECRET)
    with pytest.raises(ValueError) as info:
        format(creds, "d")
    assert_no_secret_in(str(info.value))


def test_short_api_key_is_hidden_entirely() -> None:
    assert repr(Credentials("short", SECRET)) == "Credentials(api_key='…', secret_key=<redacted>)"


def test_attributes_and_equality() -> None:
    creds = Credentials(API_KEY, SECRET)
    assert creds.api_key == API_KEY
    assert creds.secret_key == SECRET
    assert creds == Credentials(API_KEY, SECRET)
    assert creds != Credentials(API_KEY, SECRET + "x")
    assert creds != Credentials(API_KEY + "x", SECRET)
    assert creds != (API_KEY, SECRET)
    assert hash(creds) == hash(Credentials(API_KEY, SECRET))
    assert len({creds, Credentials(API_KEY, SECRET)}) == 1


def test_frozen_and_slotted() -> None:
    creds = Credentials(API_KEY, SECRET)
    assert not hasattr(creds, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError) as info:
        creds.secret_key = "other"  # type: ignore[misc]
    assert_no_secret_in(str(info.value))


def test_copy_and_pickle_keep_value_and_redaction() -> None:
    creds = Credentials(API_KEY, SECRET)
    for clone in (
        copy.copy(creds),
        copy.deepcopy(creds),
        pickle.loads(pickle.dumps(creds)),
        dataclasses.replace(creds),
    ):
        assert clone == creds
        assert clone.secret_key == SECRET
        assert_no_secret_in(repr(clone))


@pytest.mark.parametrize(
    ("api_key", "secret_key", "message"),
    cases(
        ("", SECRET, "api_key is empty"),
        (API_KEY, "", "secret_key is empty"),
        (API_KEY, f" {SECRET}", "secret_key has leading or trailing whitespace"),
        (API_KEY, f"{SECRET}\n", "secret_key has leading or trailing whitespace"),
        (API_KEY, "   ", "secret_key has leading or trailing whitespace"),
        (None, SECRET, "api_key must be a str, got NoneType"),
        (API_KEY, SECRET.encode(), "secret_key must be a str, got bytes"),
    ),
)
def test_constructor_validation(api_key: object, secret_key: object, message: str) -> None:
    exc = raised(lambda: Credentials(api_key, secret_key))  # type: ignore[arg-type]
    assert str(exc) == message
    assert isinstance(exc, ValueError)


def test_replace_validates() -> None:
    creds = Credentials(API_KEY, SECRET)
    exc = raised(lambda: dataclasses.replace(creds, secret_key=""))
    assert str(exc) == "secret_key is empty"


# ------------------------------------------------------------------ environment


def test_from_env() -> None:
    env = {"BITUNIX_API_KEY": API_KEY, "BITUNIX_SECRET_KEY": SECRET, "OTHER": "x"}
    assert Credentials.from_env(env) == Credentials(API_KEY, SECRET)


def test_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITUNIX_API_KEY", API_KEY)
    monkeypatch.setenv("BITUNIX_SECRET_KEY", SECRET)
    assert Credentials.from_env() == Credentials(API_KEY, SECRET)
    assert Credentials.load() == Credentials(API_KEY, SECRET)


@pytest.mark.parametrize(
    ("env", "message"),
    cases(
        ({}, "environment variables BITUNIX_API_KEY and BITUNIX_SECRET_KEY are not set"),
        ({"BITUNIX_SECRET_KEY": SECRET}, "environment variable BITUNIX_API_KEY is not set"),
        ({"BITUNIX_API_KEY": API_KEY}, "environment variable BITUNIX_SECRET_KEY is not set"),
        (
            {"BITUNIX_API_KEY": "", "BITUNIX_SECRET_KEY": SECRET},
            "environment variable BITUNIX_API_KEY is empty",
        ),
        (
            {"BITUNIX_API_KEY": API_KEY, "BITUNIX_SECRET_KEY": ""},
            "environment variable BITUNIX_SECRET_KEY is empty",
        ),
        (
            {"BITUNIX_API_KEY": API_KEY, "BITUNIX_SECRET_KEY": SECRET + " "},
            "environment variable BITUNIX_SECRET_KEY has leading or trailing whitespace",
        ),
    ),
)
def test_from_env_errors(env: dict[str, str], message: str) -> None:
    assert str(raised(lambda: Credentials.from_env(env))) == message


def test_from_env_error_with_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BITUNIX_API_KEY", raising=False)
    monkeypatch.setenv("BITUNIX_SECRET_KEY", SECRET)
    assert "BITUNIX_API_KEY is not set" in str(raised(Credentials.from_env))


# ------------------------------------------------------------------ files


def write(tmp_path: Path, content: str | bytes, name: str = "api_keys.json") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    path.chmod(0o600)
    return path


def good_document() -> dict[str, object]:
    return {
        "Binance": {"apiKey": "other", "secretKey": "other-secret"},
        "BitUnix": {"apiKey": API_KEY, "secretKey": SECRET},
    }


def test_from_file(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(good_document(), indent=2))
    assert Credentials.from_file(path) == Credentials(API_KEY, SECRET)
    assert Credentials.from_file(str(path)) == Credentials(API_KEY, SECRET)
    assert Credentials.from_file(os.fsencode(path).decode()) == Credentials(API_KEY, SECRET)


def test_from_file_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + json.dumps(good_document()).encode())
    assert Credentials.from_file(path) == Credentials(API_KEY, SECRET)


def file_error(path: Path) -> str:
    message = str(raised(lambda: Credentials.from_file(path)))
    assert message.startswith(f"credentials file {path}: ")
    return message[len(f"credentials file {path}: ") :]


def test_missing_file(tmp_path: Path) -> None:
    assert file_error(tmp_path / "nope.json") == "no such file"


def test_directory(tmp_path: Path) -> None:
    assert file_error(tmp_path) == "is a directory, not a file"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(good_document()))
    path.chmod(0)
    try:
        assert file_error(path) == "permission denied"
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (PermissionError(13, "Permission denied"), "permission denied"),
        (OSError(5, "Input/output error"), "cannot be read (Input/output error)"),
        (OSError("no errno"), "cannot be read (OSError)"),
    ],
)
def test_open_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, message: str
) -> None:
    def failing_open(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr("bitunix_trio._core.credentials._open_for_reading", failing_open)
    assert file_error(write(tmp_path, json.dumps(good_document()))) == message


def test_other_os_error(tmp_path: Path) -> None:
    # A path through a regular file is ENOTDIR: neither missing nor a permission problem.
    path = write(tmp_path, "{}") / "child.json"
    assert file_error(path) == "cannot be read (Not a directory)"


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"BitUnix": {"secretKey": "' + SECRET.encode() + b'\xff"}}')
    assert file_error(path) == "is not UTF-8 text"


@pytest.mark.parametrize(
    ("content", "message"),
    cases(
        ("", "is not valid JSON: Expecting value (line 1, column 1)"),
        (
            '{"BitUnix": {"apiKey": "k",\n "secretKey": "' + SECRET + '\\q"}}',
            "is not valid JSON: Invalid \\escape (line 2, column 47)",
        ),
        (
            '{"BitUnix": {"apiKey": "k", "secretKey": "' + SECRET,
            "is not valid JSON: Unterminated string starting at (line 1, column 42)",
        ),
        (
            '{"BitUnix": {"secretKey": "' + SECRET + '"}} ' + SECRET,
            "is not valid JSON: Extra data (line 1, column 63)",
        ),
        (
            '{"BitUnix": {"secretKey": ' + SECRET + "}}",
            "is not valid JSON: Expecting value (line 1, column 27)",
        ),
        ("[" * 60_000, "is not valid JSON: nested too deeply"),
    ),
)
def test_invalid_json(tmp_path: Path, content: str, message: str) -> None:
    assert file_error(write(tmp_path, content)) == message


@pytest.mark.parametrize(
    ("document", "message"),
    cases(
        ([SECRET], "must contain a JSON object, found an array"),
        (SECRET, "must contain a JSON object, found a string"),
        (
            {"Bitunix": {"apiKey": API_KEY, "secretKey": SECRET}},
            'has no "BitUnix" section (expected {"BitUnix": {"apiKey": ..., "secretKey": ...}})',
        ),
        ({"BitUnix": SECRET}, '"BitUnix" must be a JSON object, found a string'),
        ({"BitUnix": [API_KEY, SECRET]}, '"BitUnix" must be a JSON object, found an array'),
        ({"BitUnix": {"secretKey": SECRET}}, "BitUnix.apiKey is missing"),
        ({"BitUnix": {"apiKey": API_KEY}}, "BitUnix.secretKey is missing"),
        (
            {"BitUnix": {"apiKey": API_KEY, "secret": SECRET}},
            "BitUnix.secretKey is missing",
        ),
        (
            {"BitUnix": {"apiKey": 12345, "secretKey": SECRET}},
            "BitUnix.apiKey must be a string, found a number",
        ),
        (
            {"BitUnix": {"apiKey": API_KEY, "secretKey": [SECRET]}},
            "BitUnix.secretKey must be a string, found an array",
        ),
        (
            {"BitUnix": {"apiKey": API_KEY, "secretKey": {"value": SECRET}}},
            "BitUnix.secretKey must be a string, found an object",
        ),
        (
            {"BitUnix": {"apiKey": API_KEY, "secretKey": None}},
            "BitUnix.secretKey must be a string, found null",
        ),
        (
            {"BitUnix": {"apiKey": API_KEY, "secretKey": True}},
            "BitUnix.secretKey must be a string, found a boolean",
        ),
        ({"BitUnix": {"apiKey": "", "secretKey": SECRET}}, "BitUnix.apiKey is empty"),
        ({"BitUnix": {"apiKey": API_KEY, "secretKey": ""}}, "BitUnix.secretKey is empty"),
        (
            {"BitUnix": {"apiKey": API_KEY, "secretKey": SECRET + "\n"}},
            "BitUnix.secretKey has leading or trailing whitespace",
        ),
    ),
)
def test_bad_layout(tmp_path: Path, document: object, message: str) -> None:
    assert file_error(write(tmp_path, json.dumps(document))) == message


# ------------------------------------------------------------------ load


def test_load_prefers_environment(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"BitUnix": {"apiKey": "file-key", "secretKey": "fs"}}))
    env = {"BITUNIX_API_KEY": API_KEY, "BITUNIX_SECRET_KEY": SECRET}
    assert Credentials.load(path, environ=env) == Credentials(API_KEY, SECRET)


def test_load_falls_back_to_file(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(good_document()))
    assert Credentials.load(path, environ={}) == Credentials(API_KEY, SECRET)


def test_load_partial_environment_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(good_document()))
    message = str(raised(lambda: Credentials.load(path, environ={"BITUNIX_API_KEY": "k"})))
    assert message == "environment variable BITUNIX_SECRET_KEY is not set"


def test_load_nothing() -> None:
    message = str(raised(lambda: Credentials.load(environ={})))
    assert message == (
        "no credentials: set BITUNIX_API_KEY and BITUNIX_SECRET_KEY, "
        "or pass the path of a credentials file"
    )


def test_load_file_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    message = str(raised(lambda: Credentials.load(path, environ={})))
    assert message == f"credentials file {path}: no such file"


# -- what kind of file, and who may read it ----------------------------------------------


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700 | 0o004])
def test_file_accessible_by_others_warns(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path, json.dumps(good_document()))
    path.chmod(mode)
    with pytest.warns(InsecureCredentialsFileWarning, match="chmod 600") as record:
        credentials = Credentials.from_file(path)
    assert credentials == Credentials(API_KEY, SECRET)
    assert f"mode {mode:04o}" in str(record[0].message)
    assert_no_secret_in(str(record[0].message))
    assert record[0].filename == __file__  # points at the caller
    with pytest.warns(InsecureCredentialsFileWarning):
        assert Credentials.load(path, environ={}) == credentials


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_private_file_loads_quietly(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(good_document()))
    for mode in (0o600, 0o400):
        path.chmod(mode)
        assert Credentials.from_file(path) == Credentials(API_KEY, SECRET)  # no warning
    path.chmod(0o600)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "api_keys.json"
    os.mkfifo(path, 0o600)
    outcome: list[str] = []

    def load() -> None:
        outcome.append(file_error(path))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout=10)
    try:
        assert not thread.is_alive(), "reading a FIFO blocked"
        assert outcome == ["is not a regular file"]
    finally:
        if thread.is_alive():  # let the blocked open return
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            thread.join()


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_is_refused() -> None:
    assert file_error(Path("/dev/zero")) == "is not a regular file"


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    document = json.dumps(good_document())
    path = write(tmp_path, document + " " * MAX_FILE_SIZE)
    assert file_error(path) == f"is larger than {MAX_FILE_SIZE} bytes"
    path = write(tmp_path, document + " " * (MAX_FILE_SIZE - len(document)))
    assert Credentials.from_file(path) == Credentials(API_KEY, SECRET)
