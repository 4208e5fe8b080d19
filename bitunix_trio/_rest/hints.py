"""What the REST client adds to an exchange error it can explain (``ExchangeError.hint``).

The exchange answers a refused order with ``Parameter error: qty (code 10002)`` and an
unknown symbol with ``this Futures is not allowed to trade. (code 20015)``; the trading
pairs (``get_trading_pairs``) say what would have been accepted. These functions turn them
into the sentence appended to the error; they do no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .results import TradingPair

__all__ = ["RULE_CODES", "UNKNOWN_SYMBOL_CODES", "closest_symbols", "rules_hint", "symbol_hint"]

#: Codes of a refused order that the pair's trading rules explain: 10002 (parameter
#: error, e.g. a quantity below the minimum or with too many decimals), 30039 (over max).
RULE_CODES = frozenset({10002, 30039})
#: Codes the exchange answers for a symbol it does not trade: 20015 (the usual answer,
#: also on market endpoints), 20001 (market does not exist).
UNKNOWN_SYMBOL_CODES = frozenset({20001, 20015})


def _decimals(count: int) -> str:
    return f"{count} decimal" if count == 1 else f"{count} decimals"


def rules_hint(pair: TradingPair) -> str | None:
    """The trading rules of ``pair`` as one clause, or None if it states none."""
    rules: list[str] = []
    if pair.min_trade_volume is not None:
        rules.append(f"minimum quantity {pair.min_trade_volume}")
    if pair.base_precision is not None:
        rules.append(f"quantity precision {_decimals(pair.base_precision)}")
    if pair.quote_precision is not None:
        rules.append(f"price precision {_decimals(pair.quote_precision)}")
    if pair.max_limit_order_volume is not None:
        rules.append(f"maximum quantity {pair.max_limit_order_volume} per limit order")
    if pair.max_market_order_volume is not None:
        rules.append(f"{pair.max_market_order_volume} per market order")
    if not rules:
        return None
    return f"{pair.symbol} trading rules: {', '.join(rules)}"


def closest_symbols(symbol: str, known: Iterable[str], count: int = 3) -> list[str]:
    """The known symbols most like ``symbol``: those it begins, then the most similar."""
    names = sorted(set(known))
    starting = [name for name in names if name.startswith(symbol)]
    similar = difflib.get_close_matches(symbol, names, n=count, cutoff=0.75)
    ordered = starting + [name for name in similar if name not in starting]
    return ordered[:count]


def symbol_hint(symbol: str, pairs: Iterable[TradingPair]) -> str | None:
    """Why ``symbol`` may have been refused: not listed (the closest that are), or listed
    with a status that is not ``OPEN``. None when the pairs tell nothing more."""
    by_symbol = {pair.symbol: pair for pair in pairs}
    pair = by_symbol.get(symbol)
    if pair is not None:
        if pair.status is None or pair.status.upper() == "OPEN":
            return None
        return f"{symbol} is listed with status {pair.status}"
    if not by_symbol:
        return None
    closest = closest_symbols(symbol, by_symbol)
    if closest:
        return f"{symbol} is not a known symbol; the closest known: {', '.join(closest)}"
    examples = ", ".join(sorted(by_symbol)[:3])
    return (
        f"{symbol} is not a known symbol ({len(by_symbol)} are listed, e.g. {examples}; "
        "get_trading_pairs() lists them all)"
    )
