"""The number gate: every number that enters the library passes here first.

Numbers reach the library from WebSocket pushes, REST replies and the caller's arguments.
Python's :class:`~decimal.Decimal` and :class:`int` accept numbers of any size, and some of
their operations cost time or memory in proportion to the size: ``int(Decimal("1e1000000"))``
builds a million-digit integer (seconds of CPU), ``format(Decimal("1e-999999999"), "f")``
asks for a gigabyte string, and arithmetic on ``1E+999999999`` overflows the decimal
context. So every number is checked here, in constant time, before anything else uses it:

* its text is at most :data:`MAX_NUMBER_CHARS` characters (checked before ``Decimal()``);
* it is finite (no ``NaN``, no ``Infinity``);
* its magnitude is zero or between ``1e-MAX_EXPONENT`` and ``1e+MAX_EXPONENT``
  (:data:`MAX_EXPONENT` is the limit on the adjusted exponent, the position of the most
  significant digit), so at most about 2 * MAX_EXPONENT digits ever need writing out;
* where a value cannot be negative (prices, quantities, volumes, leverage), it is not;
* a timestamp is an integer number of milliseconds in ``[0, MAX_TIME_MS]`` (up to the end
  of year 9999, the last instant :class:`~datetime.datetime` can hold).

A refusal is a :class:`NumberRefused`: a :class:`~bitunix_trio.RemoteProtocolError` (the
exchange sent it) that is also a :class:`ValueError` (so the decoders' handling of bad input
applies), naming the field and showing the start of the value. Arguments from the caller get
:class:`~bitunix_trio.ConfigurationError` instead (see ``_rest.args``), from the same checks.
This module does no I/O.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import msgspec

from .errors import RemoteProtocolError

__all__ = [
    "MAX_EXPONENT",
    "MAX_INT",
    "MAX_NUMBER_CHARS",
    "MAX_TIME_MS",
    "PLAIN_MAX_CHARS",
    "NumberRefused",
    "NumberTypeRefused",
    "check_decimal",
    "check_int",
    "check_time_ms",
    "number",
    "plain_book",
    "shown",
]

#: The longest number text accepted (sign, digits, point and exponent included).
MAX_NUMBER_CHARS = 64
#: The largest adjusted exponent accepted, either way: ``1e-40 <= |x| < 1e41`` or ``x == 0``.
MAX_EXPONENT = 40
#: The largest integer accepted (leverage, precision, counts): 10**18.
MAX_INT = 10**18
#: The latest timestamp accepted: 9999-12-31T23:59:59.999Z in ms since the epoch.
MAX_TIME_MS = 253_402_300_799_999

_SHOWN = 40

#: The longest number of the plain form (:func:`plain_book`): ASCII digits and at most one
#: point, so at most 40 digits: its adjusted exponent is within ``±(PLAIN_MAX_CHARS - 1)``.
PLAIN_MAX_CHARS = 40
_DIGITS_AS_D = bytes.maketrans(b"0123456789.", b"d" * 11)
_PLAIN_TOO_LONG = b"d" * (PLAIN_MAX_CHARS + 1)
#: What a plain book's JSON is made of, digits and points written as ``d``.
_PLAIN_BOOK_CHARS = b'{}[],:"abd'

Level = tuple[Decimal, Decimal]


class _PlainBook(msgspec.Struct):
    b: tuple[tuple[Decimal, Decimal], ...]
    a: tuple[tuple[Decimal, Decimal], ...]


_decode_plain_book = msgspec.json.Decoder(_PlainBook).decode


class NumberRefused(RemoteProtocolError, ValueError):
    """A number from the exchange that is not a bounded, finite number of the right sign.

    The message names the field and shows (the start of) the value.
    """


class NumberTypeRefused(NumberRefused, TypeError):
    """A value of the wrong type where a number belongs (also a :class:`TypeError`)."""


def shown(value: object) -> str:
    """``repr(value)`` cut to a few dozen characters (control characters escaped)."""
    if isinstance(value, str):
        text = repr(value[:_SHOWN])
        return text + ("…" if len(value) > _SHOWN else "")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return f"<an integer of about {value.bit_length() * 0.30103:.0f} digits>"
    text = repr(value)
    return text if len(text) <= 2 * _SHOWN else text[: 2 * _SHOWN] + "…"


def _refuse(field: str, value: object, why: str) -> NumberRefused:
    return NumberRefused(f"{field}: {why}: {shown(value)}")


def check_decimal(d: Decimal, field: str, value: object, signed: bool) -> Decimal:
    """Check a Decimal already built from ``value`` (finite, magnitude, sign)."""
    if not d.is_finite():
        raise _refuse(field, value, "not a finite number")
    e = d.adjusted()
    if (e > MAX_EXPONENT or e < -MAX_EXPONENT) and d:
        raise _refuse(field, value, f"magnitude outside 1e-{MAX_EXPONENT} to 1e+{MAX_EXPONENT}")
    if not signed and d.is_signed() and d:
        raise _refuse(field, value, "must not be negative")
    return d


def number(value: object, field: str, *, signed: bool = True) -> Decimal:
    """A wire number (string, int, float or Decimal) as a bounded, finite Decimal.

    ``signed=False`` also refuses negative values. Raises :class:`NumberRefused`.
    """
    cls = value.__class__
    if cls is str:
        if len(value) > MAX_NUMBER_CHARS:  # type: ignore[arg-type]
            raise _refuse(field, value, f"longer than {MAX_NUMBER_CHARS} characters")
        try:
            d = Decimal(value)  # type: ignore[arg-type]
        except InvalidOperation:
            raise _refuse(field, value, "not a number") from None
    elif cls is int:
        if not -MAX_INT <= value <= MAX_INT:  # type: ignore[operator]
            raise _refuse(field, value, f"magnitude above {MAX_INT}")
        d = Decimal(value)  # type: ignore[arg-type]
    elif cls is float:
        d = Decimal(repr(value))
    elif cls is Decimal:
        d = value  # type: ignore[assignment]
    else:
        raise NumberTypeRefused(f"{field}: expected a number or numeric string, not {cls.__name__}")
    return check_decimal(d, field, value, signed)


def plain_book(data: bytes | msgspec.Raw) -> tuple[tuple[Level, ...], tuple[Level, ...]] | None:
    """Both sides of an order book's JSON ``{"b":[["price","qty"],...],"a":[...]}`` as
    Decimal levels, converted in one call (in C, by msgspec), if the JSON holds numbers
    in the plain form only; None otherwise, and the caller takes the checked path.

    The plain form is the fast path of the gate: 1 to :data:`PLAIN_MAX_CHARS` ASCII
    digits with at most one point, nothing else (no sign, no exponent, no ``NaN``, no
    whitespace anywhere). Such a number is finite, not negative and within every bound
    above, so no value needs a check of its own: the JSON is checked as a whole, with two
    byte translations and a search.
    """
    marked = bytes(data).translate(_DIGITS_AS_D)
    if marked.translate(None, _PLAIN_BOOK_CHARS) or _PLAIN_TOO_LONG in marked:
        return None
    try:
        book = _decode_plain_book(data)
    except (msgspec.DecodeError, ValueError, ArithmeticError):  # "", ".", "1.2.3", "ab"...
        return None
    return book.b, book.a


def check_int(value: object, field: str, *, signed: bool = True) -> int:
    """An integer given as an int or as a string (``"20"``, ``"20.0"``), bounded by
    :data:`MAX_INT`. Raises :class:`NumberRefused`."""
    if value.__class__ is int:
        if not -MAX_INT <= value <= MAX_INT:
            raise _refuse(field, value, f"magnitude above {MAX_INT}")
        if not signed and value < 0:
            raise _refuse(field, value, "must not be negative")
        return value
    if value.__class__ is not str:
        raise NumberTypeRefused(f"{field}: expected an integer, not {type(value).__name__}")
    d = number(value, field, signed=signed)
    if d != d.to_integral_value():
        raise _refuse(field, value, "not an integer")
    result = int(d)
    if not -MAX_INT <= result <= MAX_INT:
        raise _refuse(field, value, f"magnitude above {MAX_INT}")
    return result


def check_time_ms(value: int, field: str) -> int:
    """A millisecond timestamp in ``[0, MAX_TIME_MS]``. Raises :class:`NumberRefused`."""
    if value.__class__ is not int:
        raise NumberTypeRefused(f"{field}: expected an integer, not {type(value).__name__}")
    if not 0 <= value <= MAX_TIME_MS:
        raise _refuse(field, value, "not a time between 1970 and 9999 in ms")
    return value
