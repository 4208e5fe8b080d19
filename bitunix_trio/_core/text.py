"""Text the exchange sent, made safe to write into a log line or an exception message.

An exchange message (an ``"error"`` frame, a refusal, a REST ``msg``, a close reason) is
untrusted: a newline in it would start what looks like a new log line, and other control
characters can rewrite a terminal. :func:`printable` escapes them the way ``repr`` does and
cuts the text to a length a log line can hold. Text that is already printable is returned
unchanged (apart from the cut), so ordinary messages read as the exchange wrote them.
"""

from __future__ import annotations

__all__ = ["MAX_SHOWN", "printable"]

#: Exchange text longer than this is cut (and marked with ``…``).
MAX_SHOWN = 500


def printable(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` with every non-printable character escaped (``\\n``, ``\\x1b``, ``\\u2028``),
    cut to ``limit`` characters."""
    value = text if isinstance(text, str) else str(text)
    cut = len(value) > limit
    if cut:
        value = value[:limit]
    if not value.isprintable():
        value = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)
    return value + "…" if cut else value
