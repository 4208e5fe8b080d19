"""API credentials, and loading them from the environment or a JSON file.

:class:`Credentials` never shows its secret: ``repr``, ``str`` and ``format`` print an
abbreviated API key and ``<redacted>``, and no error raised here quotes the secret or the
content of a credentials file.

This module is pure: it imports only the standard library.
"""

from __future__ import annotations

import hmac
import json
import os
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "API_KEY_ENV",
    "FILE_SECTION",
    "MAX_FILE_SIZE",
    "SECRET_KEY_ENV",
    "Credentials",
    "InsecureCredentialsFileWarning",
]

#: Environment variable holding the API key.
API_KEY_ENV = "BITUNIX_API_KEY"
#: Environment variable holding the secret key.
SECRET_KEY_ENV = "BITUNIX_SECRET_KEY"
#: Section of a credentials file: ``{"BitUnix": {"apiKey": ..., "secretKey": ...}}``.
FILE_SECTION = "BitUnix"

#: The largest credentials file read, in bytes (a real one is a few hundred).
MAX_FILE_SIZE = 64 * 1024

_REDACTED = "<redacted>"


class InsecureCredentialsFileWarning(UserWarning):
    """A credentials file can be read (or written) by users other than its owner.

    The keys are loaded all the same; restrict the file (``chmod 600 api_keys.json``) to
    make the warning go away.
    """


def _abbreviate(api_key: str) -> str:
    """Show enough of an API key to tell keys apart, not enough to use one."""
    if len(api_key) > 8:
        return f"{api_key[:4]}…{api_key[-4:]}"
    return "…"


def _check_key(name: str, value: object) -> str:
    """Return ``value`` if it is a usable key; never put the value in a message."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise ConfigurationError(f"{name} is empty")
    if value != value.strip():
        raise ConfigurationError(f"{name} has leading or trailing whitespace")
    return value


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - json.loads gives nothing else


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Credentials:
    """An API key and its secret, as issued by BitUnix.

    Arguments:
        api_key: the API key (sent to the exchange in the clear).
        secret_key: the secret key (only ever used to compute signatures).

    Both must be non-empty strings without surrounding whitespace; anything else raises
    :class:`~bitunix_trio.ConfigurationError` (whose message never contains the secret).

    The secret never appears in ``repr``, ``str`` or ``format``::

        >>> Credentials("0123456789abcdef", "top-secret")
        Credentials(api_key='0123…cdef', secret_key=<redacted>)

    Build them with :meth:`from_env`, :meth:`from_file` or :meth:`load` to keep secrets out
    of source code.
    """

    api_key: str
    secret_key: str

    def __post_init__(self) -> None:
        _check_key("api_key", self.api_key)
        _check_key("secret_key", self.secret_key)

    def __repr__(self) -> str:
        return f"Credentials(api_key='{_abbreviate(self.api_key)}', secret_key={_REDACTED})"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return format(repr(self), format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return self.api_key == other.api_key and hmac.compare_digest(
            self.secret_key.encode("utf-8"), other.secret_key.encode("utf-8")
        )

    def __hash__(self) -> int:
        return hash((Credentials, self.api_key))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read the keys from ``BITUNIX_API_KEY`` and ``BITUNIX_SECRET_KEY``.

        Arguments:
            environ: the mapping to read instead of :data:`os.environ`.

        Raises :class:`~bitunix_trio.ConfigurationError` naming any variable that is
        missing or empty.
        """
        result = _from_env(os.environ if environ is None else environ)
        del environ  # no frame an error passes through holds the environment
        if isinstance(result, str):
            raise ConfigurationError(result)
        return result

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Credentials:
        """Read the keys from a JSON file in the layout of ``api_keys.json``::

            {"BitUnix": {"apiKey": "...", "secretKey": "..."}}

        Other top-level sections are ignored.

        Raises :class:`~bitunix_trio.ConfigurationError` naming the path and what is wrong
        (missing file, not a regular file, larger than :data:`MAX_FILE_SIZE`, not JSON,
        missing section or key, wrong type, empty value); the message never quotes the
        file's content. Warns with :class:`InsecureCredentialsFileWarning` when users other
        than the file's owner may read or write it (not on Windows, where modes mean
        nothing).
        """
        name = os.fsdecode(path)
        problem = _load_file(name)
        if isinstance(problem, str):
            raise ConfigurationError(f"credentials file {name}: {problem}")
        credentials, mode = problem
        if mode & 0o077:
            warnings.warn(
                InsecureCredentialsFileWarning(
                    f"credentials file {name} can be accessed by users other than its owner "
                    f"(mode {mode & 0o777:04o}); restrict it with: chmod 600 {name}"
                ),
                stacklevel=2,
            )
        return credentials

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> Credentials:
        """Read the keys from the environment if set there, else from the file at ``path``.

        The environment wins when either ``BITUNIX_API_KEY`` or ``BITUNIX_SECRET_KEY`` is set
        (both must then be). Otherwise ``path`` is read with :meth:`from_file`.

        Raises :class:`~bitunix_trio.ConfigurationError` when neither source has keys.
        """
        source = os.environ if environ is None else environ
        in_env = API_KEY_ENV in source or SECRET_KEY_ENV in source
        result = _from_env(source) if in_env else None
        del source, environ  # no frame an error passes through holds the environment
        if isinstance(result, str):
            raise ConfigurationError(result)
        if result is not None:
            return result
        if path is not None:
            return cls.from_file(path)
        raise ConfigurationError(
            f"no credentials: set {API_KEY_ENV} and {SECRET_KEY_ENV}, "
            "or pass the path of a credentials file"
        )


def _from_env(env: Mapping[str, str]) -> Credentials | str:
    """Credentials from ``env``, or what is wrong with it (returned, not raised, so that
    the caller raises from a frame that holds no environment)."""
    missing = [name for name in (API_KEY_ENV, SECRET_KEY_ENV) if name not in env]
    if missing:
        return (
            f"environment variable{'s' if len(missing) > 1 else ''} "
            f"{' and '.join(missing)} {'are' if len(missing) > 1 else 'is'} not set"
        )
    try:
        return Credentials(env[API_KEY_ENV], env[SECRET_KEY_ENV])
    except ConfigurationError as exc:
        message = str(exc)
    message = message.replace("secret_key", f"environment variable {SECRET_KEY_ENV}")
    return message.replace("api_key", f"environment variable {API_KEY_ENV}")


def _open_for_reading(name: str) -> int:
    """A descriptor of ``name`` opened for reading without blocking (a FIFO with no
    writer would block ``open`` forever) and without becoming a controlling terminal."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    return os.open(name, flags | getattr(os, "O_BINARY", 0))


def _read_file(name: str) -> tuple[bytes, int] | str:
    """The bytes and permission bits of the regular file ``name``, or what is wrong."""
    try:
        fd = _open_for_reading(name)
    except FileNotFoundError:
        return "no such file"
    except IsADirectoryError:
        return "is a directory, not a file"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return "is a directory, not a file"
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file"
        if info.st_size > MAX_FILE_SIZE:
            return f"is larger than {MAX_FILE_SIZE} bytes"
        with os.fdopen(fd, "rb", closefd=False) as file:
            raw = file.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_SIZE:  # grew since fstat
        return f"is larger than {MAX_FILE_SIZE} bytes"
    mode = 0 if os.name == "nt" else stat.S_IMODE(info.st_mode)
    return raw, mode


def _load_file(name: str) -> tuple[Credentials, int] | str:
    """Load credentials from ``name`` (with the file's permission bits), or return what is
    wrong with the file.

    Errors are returned rather than raised so that the caller raises outside any ``except``
    block: a chained ``OSError``/``JSONDecodeError`` could carry the file's content.
    """
    read = _read_file(name)
    if isinstance(read, str):
        return read
    raw, mode = read
    del read
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    del raw
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        # exc.msg is a fixed description such as "Expecting value"; anything after a colon
        # may quote the document, so it is cut off.
        reason = exc.msg.partition(":")[0]
        return f"is not valid JSON: {reason} (line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        return "is not valid JSON: nested too deeply"
    finally:
        del text
    if not isinstance(document, dict):
        return f"must contain a JSON object, found {_json_type(document)}"
    if FILE_SECTION not in document:
        return (
            f'has no "{FILE_SECTION}" section '
            f'(expected {{"{FILE_SECTION}": {{"apiKey": ..., "secretKey": ...}}}})'
        )
    section = document[FILE_SECTION]
    if not isinstance(section, dict):
        return f'"{FILE_SECTION}" must be a JSON object, found {_json_type(section)}'
    values: list[str] = []
    for key in ("apiKey", "secretKey"):
        where = f"{FILE_SECTION}.{key}"
        if key not in section:
            return f"{where} is missing"
        value = section[key]
        if not isinstance(value, str):
            return f"{where} must be a string, found {_json_type(value)}"
        if not value:
            return f"{where} is empty"
        if value != value.strip():
            return f"{where} has leading or trailing whitespace"
        values.append(value)
    return Credentials(values[0], values[1]), mode
