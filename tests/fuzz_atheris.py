"""Coverage-guided fuzzing of the decoders with atheris (``nox -s fuzz_atheris``).

Each input is tried as a WebSocket frame (:func:`~bitunix_trio._core.frames.decode` must return a
frame, never raise; every field, ``repr`` and ``time`` of a push must be readable or refused
with a BitunixError), as a REST body (:func:`~bitunix_trio._rest.replies.unwrap_envelope` must
return data or raise a BitunixError), and, when it is a JSON object, as a row for every REST
row parser. A slow input is reported by libFuzzer's ``-timeout`` (seconds per input).

    python tests/fuzz_atheris.py [libFuzzer options] [corpus dirs]

The golden frames seed the corpus (written to ``fuzz-corpus/`` when it does not exist).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

with atheris.instrument_imports():
    from bitunix_trio._core.errors import BitunixError
    from bitunix_trio._core.frames import Push, decode
    from bitunix_trio._core.rest_wire import (
        parse_rest_account,
        parse_rest_depth,
        parse_rest_kline,
        parse_rest_order,
        parse_rest_position,
        parse_rest_ticker,
    )
    from bitunix_trio._rest.replies import unwrap_envelope
    from bitunix_trio._rest.results import (
        parse_cancel_result,
        parse_funding_rate,
        parse_trading_pair,
    )
    from bitunix_trio._rest.session import RestSession

sys.path.insert(0, str(Path(__file__).parent))
from golden_frames import SERVER_CASES

ROW_PARSERS: list[Callable[[dict[str, Any]], object]] = [
    parse_rest_order,
    parse_rest_position,
    lambda row: parse_rest_ticker(row, 1),
    lambda row: parse_rest_kline(row, "BTCUSDT", "1min"),
    lambda row: parse_rest_account(row, 1),
    lambda row: parse_rest_depth(row, "BTCUSDT", 1),
    lambda row: parse_trading_pair(row, 1),
    lambda row: parse_funding_rate(row, 1),
    parse_cancel_result,
]


def _read(frame: object) -> None:
    if type(frame) is not Push:
        return
    for item in frame.items:
        try:
            for name in dir(item):
                if not name.startswith("_"):
                    getattr(item, name)
            repr(item)
        except BitunixError:
            pass


def one_input(data: bytes) -> None:
    """The fuzz target."""
    _read(decode(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        _read(decode(text))
    try:
        unwrap_envelope(200, data, "GET", "/fuzz")
    except BitunixError:
        pass
    try:
        row = json.loads(data)
    except (ValueError, RecursionError):
        return
    if isinstance(row, dict):
        for parser in ROW_PARSERS:
            try:
                RestSession.parse("fuzz", parser, row)
            except BitunixError:
                pass


def main() -> None:
    corpus = Path("fuzz-corpus")
    if not corpus.exists():
        corpus.mkdir()
        for i, case in enumerate(SERVER_CASES):
            (corpus / f"golden-{i}").write_text(case.text)
            data = json.loads(case.text).get("data")
            rows = data if isinstance(data, list) else [data]
            for j, row in enumerate(rows):
                if isinstance(row, dict):
                    (corpus / f"row-{i}-{j}").write_text(json.dumps(row))
    args = sys.argv[:1] + (sys.argv[1:] or ["-timeout=2", "-max_total_time=120", str(corpus)])
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
