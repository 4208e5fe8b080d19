"""Exchange errors that help: a refused quantity names the pair's trading rules, an unknown
symbol the closest known ones; both through the simulated exchange, which answers these
cases with the codes the exchange does (10002, 20015)."""

from __future__ import annotations

import pickle
from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx
import pytest
import trio.testing

import bitunix_trio as bt
from bitunix_trio._rest.hints import closest_symbols, symbol_hint
from bitunix_trio._rest.results import TradingPair
from bitunix_trio.testing import SimulatedExchange

PAIRS_PATH = "/api/v1/futures/market/trading_pairs"


async def test_a_quantity_below_the_minimum_names_the_pair_rules(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    async with bt.open_rest_client(**memory_sim.rest_options()) as rest:
        (pair,) = await rest.get_trading_pairs("BTCUSDT")
        assert pair.min_trade_volume is not None
        memory_sim.recorder.clear()
        with pytest.raises(bt.ExchangeError) as caught:
            await rest.place_order("BTCUSDT", "BUY", "MARKET", qty=pair.min_trade_volume / 10)
    error = caught.value
    assert type(error) is bt.ExchangeError
    assert error.code == 10002
    assert error.message == "Parameter error: qty"
    assert error.hint == (
        f"BTCUSDT trading rules: minimum quantity {pair.min_trade_volume}, "
        f"quantity precision {pair.base_precision} decimals, "
        f"price precision {pair.quote_precision} decimal"
        + ("" if pair.quote_precision == 1 else "s")
        + f", maximum quantity {pair.max_limit_order_volume} per limit order, "
        f"{pair.max_market_order_volume} per market order"
    )
    assert str(error).startswith(f"Parameter error: qty (code 10002): {error.hint}")
    assert pickle.loads(pickle.dumps(error)).hint == error.hint


async def test_the_trading_pairs_are_fetched_once_and_only_for_an_error(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange
) -> None:
    async with bt.open_rest_client(**memory_sim.rest_options()) as rest:
        placed = await rest.place_order("BTCUSDT", "BUY", "LIMIT", qty="0.01", price="80000")
        await rest.get_depth("BTCUSDT", limit=5)
        assert memory_sim.recorder.rest_requests(path=PAIRS_PATH) == []
        for qty in ("0.00001", "0.000001"):
            with pytest.raises(bt.ExchangeError, match="minimum quantity"):
                await rest.place_order("BTCUSDT", "BUY", "MARKET", qty=qty)
        with pytest.raises(bt.ExchangeError, match="closest known: BTCUSDT"):
            await rest.get_depth("BTCUSD")
        await rest.cancel_orders("BTCUSDT", [placed.order_id])
    assert len(memory_sim.recorder.rest_requests(path=PAIRS_PATH)) == 1


@pytest.mark.parametrize("call", ["get_depth", "place_order", "get_klines"])
async def test_an_unknown_symbol_names_the_closest_known_ones(
    autojump_clock: trio.testing.MockClock, memory_sim: SimulatedExchange, call: str
) -> None:
    async with bt.open_rest_client(**memory_sim.rest_options()) as rest:
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "place_order": lambda: rest.place_order("ethusd", "BUY", "MARKET", qty="0.01"),
            "get_depth": lambda: rest.get_depth("ethusd"),
            "get_klines": lambda: rest.get_klines("ethusd"),
        }
        with pytest.raises(bt.ExchangeError) as caught:
            await calls[call]()
    error = caught.value
    assert type(error) is bt.ExchangeError
    assert error.code == 20015
    assert error.message == "this Futures is not allowed to trade."
    assert error.hint is not None
    assert error.hint.startswith("ETHUSD is not a known symbol; the closest known: ETHUSDT")
    assert str(error) == f"this Futures is not allowed to trade. (code 20015): {error.hint}"


async def test_a_failure_to_fetch_the_pairs_leaves_the_error_as_it_was(
    autojump_clock: trio.testing.MockClock,
) -> None:
    requests: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        if request.url.path == PAIRS_PATH:
            return httpx.Response(503, text="down for maintenance")
        body = {"code": 10002, "data": None, "msg": "Parameter error: qty"}
        return httpx.Response(200, json=body)

    async with bt.open_rest_client(
        bt.Credentials("key-0123456789", "secret-0123456789"),
        "https://fapi.test",
        transport=httpx.MockTransport(answer),
        retry_delay=0.1,
        max_retries=1,
    ) as rest:
        with pytest.raises(bt.ExchangeError) as caught:
            await rest.place_order("BTCUSDT", "BUY", "MARKET", qty="0.00001")
    assert requests.count(PAIRS_PATH) == 2  # tried (and retried: it is a GET), then given up
    assert caught.value.code == 10002
    assert caught.value.hint is None
    assert str(caught.value) == "Parameter error: qty (code 10002)"


def _pair(symbol: str, status: str | None = "OPEN") -> TradingPair:
    return TradingPair(
        symbol=symbol,
        base=None,
        quote=None,
        status=status,
        min_trade_volume=Decimal("0.001"),
        max_limit_order_volume=None,
        max_market_order_volume=None,
        base_precision=3,
        quote_precision=1,
        min_leverage=None,
        max_leverage=None,
        default_leverage=None,
        default_margin_mode=None,
        min_buy_price_offset=None,
        max_sell_price_offset=None,
        price_protect_scope=None,
        ts=0,
    )


def test_symbol_hints() -> None:
    pairs = [_pair("BTCUSDT"), _pair("ETHUSDT"), _pair("NEWUSDT", "PREVIEW"), _pair("XRPUSDT")]
    assert symbol_hint("BTCUSDT", pairs) is None  # listed and open: nothing to add
    assert symbol_hint("NEWUSDT", pairs) == "NEWUSDT is listed with status PREVIEW"
    assert symbol_hint("BTC", pairs) == "BTC is not a known symbol; the closest known: BTCUSDT"
    assert symbol_hint("QQQQQQQQ", pairs) == (
        "QQQQQQQQ is not a known symbol (4 are listed, e.g. BTCUSDT, ETHUSDT, NEWUSDT; "
        "get_trading_pairs() lists them all)"
    )
    assert symbol_hint("BTC", []) is None
    assert closest_symbols("XRPUSD", ["XRPUSDT", "XRPUSDC", "BTCUSDT"]) == ["XRPUSDC", "XRPUSDT"]
