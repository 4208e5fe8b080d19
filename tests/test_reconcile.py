"""The account ledger: deduplication of account updates and reconciliation plans (pure)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from bitunix_trio._core.ledger import (
    BALANCE_KEY,
    ORDERS_KEY,
    POSITIONS_KEY,
    TPSL_KEY,
    AccountLedger,
    Reconciliation,
    is_final,
    order_is_newer,
    recovered,
    routing_key,
)
from bitunix_trio._core.models import (
    AccountBalance,
    DataSource,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionMode,
    PositionSide,
    Side,
    TickerUpdate,
    TimeInForce,
    TpSlOrder,
    UpdateEvent,
)

D = Decimal
WS = DataSource.WEBSOCKET
REST = DataSource.REST
RECOVERED = DataSource.RECOVERED
S = OrderStatus


def order(
    oid: str = "1",
    status: OrderStatus = S.NEW,
    filled: str = "0",
    *,
    qty: str = "1",
    price: str | None = "100",
    symbol: str = "BTCUSDT",
    event: UpdateEvent | None = UpdateEvent.CREATE,
    source: DataSource = WS,
    ts: int = 1_000,
    **more: Any,
) -> Order:
    """An order with the fields that matter here."""
    return Order(
        order_id=oid,
        client_id=None,
        symbol=symbol,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        status=status,
        price=None if price is None else D(price),
        qty=D(qty),
        filled_qty=D(filled),
        average_price=None,
        fee=None,
        reduce_only=False,
        time_in_force=TimeInForce.GTC,
        leverage=10,
        margin_mode=MarginMode.CROSS,
        position_mode=PositionMode.ONE_WAY,
        event=event,
        created_ms=ts,
        updated_ms=ts,
        ts=ts,
        source=source,
        **more,
    )


def position(
    pid: str = "p1",
    qty: str = "1",
    *,
    symbol: str = "BTCUSDT",
    side: PositionSide = PositionSide.LONG,
    event: UpdateEvent | None = UpdateEvent.OPEN,
    source: DataSource = WS,
    ts: int = 1_000,
    **more: Any,
) -> Position:
    """A position with the fields that matter here."""
    fields: dict[str, Any] = {
        "entry_value": D(qty) * 100,
        "average_price": None,
        "leverage": 10,
        "margin": D(qty) * 10,
        "margin_mode": MarginMode.CROSS,
        "position_mode": PositionMode.ONE_WAY,
        "realized_pnl": D(0),
        "unrealized_pnl": D(0),
        "fee": D(0),
        "funding": D(0),
        "liquidation_price": None,
    }
    fields.update(more)
    return Position(
        position_id=pid,
        symbol=symbol,
        side=side,
        qty=D(qty),
        event=event,
        ts=ts,
        source=source,
        **fields,
    )


def balance(
    available: str = "1000", *, coin: str = "USDT", source: DataSource = WS, **more: Any
) -> AccountBalance:
    """A balance."""
    fields: dict[str, Any] = {"frozen": D(0), "margin": D(0)}
    fields.update(more)
    return AccountBalance(coin=coin, available=D(available), ts=1_000, source=source, **fields)


def rest(value: Any, **changes: Any) -> Any:
    """The REST flavour of a value (no event, marked REST)."""
    return dataclasses.replace(value, source=REST, event=None, **changes)


# -- small helpers ---------------------------------------------------------------------


def test_routing_keys() -> None:
    assert routing_key(order()) == ORDERS_KEY == ("order", None)
    assert routing_key(position()) == POSITIONS_KEY == ("position", None)
    assert routing_key(balance()) == BALANCE_KEY == ("balance", None)
    tpsl = TpSlOrder(
        "t", None, "BTCUSDT", None, S.NEW, None, None, None, None, None, None, None, None,
        None, None, None, None, None, None, None, 0,
    )  # fmt: skip
    assert routing_key(tpsl) == TPSL_KEY
    with pytest.raises(TypeError):
        routing_key("nope")


@pytest.mark.parametrize(
    ("status", "final"),
    [
        (S.INIT, False),
        (S.NEW, False),
        (S.PART_FILLED, False),
        (S.UNKNOWN, False),
        (S.FILLED, True),
        (S.CANCELED, True),
        (S.PART_FILLED_CANCELED, True),
        (S.SYSTEM_CANCELED, True),
        (S.EXPIRED, True),
        (S.FAILED, True),
    ],
)
def test_is_final(status: OrderStatus, final: bool) -> None:
    assert is_final(order(status=status)) is final


def test_recovered_marks_and_changes() -> None:
    value = recovered(order(), event=UpdateEvent.CLOSE)
    assert value.source is RECOVERED
    assert value.event is UpdateEvent.CLOSE
    assert value.order_id == "1"


# (old, new, new is a later state?)
NEWER_CASES = [
    pytest.param(order(), order(), False, id="repeat"),
    pytest.param(order(), rest(order()), False, id="repeat-from-rest"),
    pytest.param(order(), order(price="100.0"), False, id="same-price-other-spelling"),
    pytest.param(order(), order(status=S.PART_FILLED, filled="0.4"), True, id="part-fill"),
    pytest.param(order(status=S.PART_FILLED, filled="0.4"), order(), False, id="older"),
    pytest.param(
        order(status=S.PART_FILLED, filled="0.4"),
        order(status=S.PART_FILLED, filled="0.7"),
        True,
        id="more-filled",
    ),
    pytest.param(
        order(status=S.PART_FILLED, filled="0.7"),
        order(status=S.PART_FILLED, filled="0.4"),
        False,
        id="less-filled",
    ),
    pytest.param(order(), order(status=S.FILLED, filled="1"), True, id="filled"),
    pytest.param(
        order(status=S.FILLED, filled="1"),
        order(status=S.FILLED, filled="1"),
        False,
        id="filled-repeat",
    ),
    pytest.param(order(), order(status=S.CANCELED), True, id="canceled"),
    pytest.param(order(status=S.CANCELED), order(), False, id="new-after-canceled"),
    pytest.param(order(status=S.INIT), order(), True, id="init-then-new"),
    pytest.param(order(), order(status=S.INIT), False, id="new-then-init"),
    pytest.param(
        order(status=S.CANCELED), order(status=S.SYSTEM_CANCELED), False, id="two-final-states"
    ),
    pytest.param(
        order(status=S.PART_FILLED, filled="0.5"),
        order(status=S.UNKNOWN, filled="0.5"),
        True,
        id="unknown-status",
    ),
    pytest.param(order(), order(price="101"), True, id="price-modified"),
    pytest.param(order(), order(qty="2"), True, id="qty-modified"),
    pytest.param(order(price=None), order(price="0"), False, id="market-price-absent-vs-0"),
    pytest.param(order(price="0"), order(price="100"), False, id="market-price-0-vs-price"),
]


@pytest.mark.parametrize(("old", "new", "newer"), NEWER_CASES)
def test_order_is_newer(old: Order, new: Order, newer: bool) -> None:
    assert order_is_newer(new, old) is newer


# -- admit -------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "newer"), NEWER_CASES)
def test_admit_orders_follows_order_is_newer(old: Order, new: Order, newer: bool) -> None:
    ledger = AccountLedger()
    assert ledger.admit(old)
    assert ledger.admit(new) is newer
    assert ledger.admit(new) is False  # whatever happened, a repeat is never delivered


def test_admit_order_lifecycle() -> None:
    ledger = AccountLedger()
    steps = [
        (order(), True),
        (order(), False),
        (rest(order()), False),
        (order(status=S.PART_FILLED, filled="0.5", event=UpdateEvent.UPDATE), True),
        (rest(order(status=S.PART_FILLED, filled="0.5")), False),
        (order(status=S.FILLED, filled="1", event=UpdateEvent.CLOSE), True),
        (order(status=S.PART_FILLED, filled="0.5", event=UpdateEvent.UPDATE), False),
        (recovered(order(status=S.FILLED, filled="1")), False),
    ]
    for i, (value, expected) in enumerate(steps):
        assert ledger.admit(value) is expected, i
    assert not ledger.has_open_orders
    last = ledger.order("1")
    assert last is not None
    assert last.status is S.FILLED


def test_open_orders_view() -> None:
    ledger = AccountLedger()
    ledger.admit(order("1"))
    ledger.admit(order("2"))
    ledger.admit(order("2", S.CANCELED))
    assert list(ledger.open_orders) == ["1"]
    assert ledger.has_open_orders
    with pytest.raises(TypeError):
        ledger.open_orders["x"] = order()  # type: ignore[index]
    assert ledger.order("2") is not None
    assert ledger.order("3") is None


def test_finished_orders_are_bounded() -> None:
    ledger = AccountLedger(max_finished=2)
    for oid in "abc":
        ledger.admit(order(oid, S.FILLED, "1"))
    assert ledger.order("a") is None  # forgotten: the oldest finished order
    assert ledger.order("b") is not None
    assert ledger.order("c") is not None
    with pytest.raises(ValueError, match="max_finished"):
        AccountLedger(max_finished=0)


def test_forget_order() -> None:
    ledger = AccountLedger()
    ledger.admit(order())
    ledger.forget_order("1")
    assert ledger.order("1") is None
    assert ledger.admit(order())


@pytest.mark.parametrize(
    ("first", "second", "admitted"),
    [
        pytest.param(position(), position(), False, id="repeat"),
        pytest.param(position(), rest(position()), False, id="repeat-from-rest"),
        pytest.param(
            position(),
            rest(position(), average_price=D(100), liquidation_price=D(91)),
            False,
            id="rest-only-fields",
        ),
        pytest.param(position(), position(unrealized_pnl=D(5)), False, id="mark-moved"),
        pytest.param(position(), position(margin_rate=D("0.1")), False, id="margin-rate"),
        pytest.param(position(), position(entry_value=None), False, id="entry-value-missing"),
        pytest.param(position(), position("p1", "2", event=UpdateEvent.UPDATE), True, id="qty"),
        pytest.param(position(), position(fee=D("0.1")), True, id="fee"),
        pytest.param(position(), position(funding=D("0.2")), True, id="funding"),
        pytest.param(position(), position(realized_pnl=D(3)), True, id="realized"),
        pytest.param(position(), position(leverage=20), True, id="leverage"),
        pytest.param(position(), position(side=PositionSide.SHORT), True, id="side"),
        pytest.param(position(), position("p1", "0", event=UpdateEvent.CLOSE), True, id="close"),
        pytest.param(position(), position("p2"), True, id="other-position"),
    ],
)
def test_admit_positions(first: Position, second: Position, admitted: bool) -> None:
    ledger = AccountLedger()
    assert ledger.admit(first)
    assert ledger.admit(second) is admitted


def test_admit_position_close_is_final() -> None:
    ledger = AccountLedger()
    assert ledger.admit(position())
    closed = position("p1", "0", event=UpdateEvent.CLOSE)
    assert ledger.admit(closed)
    assert ledger.positions == {}
    assert not ledger.admit(closed)  # repeat
    assert not ledger.admit(recovered(closed))
    assert not ledger.admit(position(event=UpdateEvent.UPDATE))  # late update of a closed one
    assert ledger.admit(position("p1", "3", event=UpdateEvent.OPEN))  # reopened, same id
    assert ledger.positions["p1"].qty == 3


def test_admit_position_close_of_unknown_position() -> None:
    ledger = AccountLedger()
    assert ledger.admit(position("p9", "0", event=UpdateEvent.CLOSE))
    assert not ledger.admit(position("p9", "0", event=UpdateEvent.CLOSE))


def test_position_facts_merge_across_sources() -> None:
    """A field only one source sends is remembered, so a later change of it counts."""
    ledger = AccountLedger()
    assert ledger.admit(rest(position(), average_price=D(100)))
    assert not ledger.admit(position())  # WebSocket: no average price, nothing else new
    known = ledger.positions["p1"]
    assert known.average_price == 100
    assert ledger.admit(rest(position(), average_price=D(101)))
    assert ledger.position_of("BTCUSDT") == [ledger.positions["p1"]]
    assert ledger.position_of("ETHUSDT") == []


@pytest.mark.parametrize(
    ("first", "second", "admitted"),
    [
        pytest.param(balance(), balance(), False, id="repeat"),
        pytest.param(balance(), balance("999"), True, id="available"),
        pytest.param(balance(), balance(frozen=D(1)), True, id="frozen"),
        pytest.param(balance(), balance(coin="USDC"), True, id="other-coin"),
        pytest.param(balance(), balance(cross_unrealized_pnl=D(4)), False, id="unrealized"),
        pytest.param(
            balance(isolation_frozen=D(0)),
            balance(source=REST, transfer=D(1000)),
            False,
            id="fields-of-the-other-source",
        ),
    ],
)
def test_admit_balances(first: AccountBalance, second: AccountBalance, admitted: bool) -> None:
    ledger = AccountLedger()
    assert ledger.admit(first)
    assert ledger.admit(second) is admitted


def test_a_change_forgets_fields_of_the_other_source() -> None:
    """After a change from REST, fields only the WebSocket sends are unknown, not stale: a
    late push of the same state is still a repeat."""
    ledger = AccountLedger()
    assert ledger.admit(balance("1000", cross_frozen=D(69), cross_margin=D(0)))
    assert ledger.admit(balance("900", source=REST, transfer=D(900)))  # recovered
    assert ledger.balances["USDT"].cross_frozen is None
    assert not ledger.admit(balance("900", cross_frozen=D(0), cross_margin=D(219)))
    assert ledger.balances["USDT"].cross_margin == 219
    assert ledger.balances["USDT"].transfer == 900
    assert ledger.admit(position(average_price=D(1)))
    assert ledger.admit(rest(position("p1", "2")))
    assert ledger.positions["p1"].average_price is None


def test_balance_facts_merge_across_sources() -> None:
    ledger = AccountLedger()
    assert ledger.admit(balance(isolation_margin=D(0)))
    assert not ledger.admit(balance(source=REST, transfer=D(1000)))
    # A change of a WebSocket-only field is still seen after a REST value in between.
    assert ledger.balances["USDT"].transfer == 1000
    assert ledger.admit(balance(isolation_margin=D(5)))
    assert ledger.balances["USDT"].transfer is None  # a change: REST's field is unknown now


def test_admit_other_values() -> None:
    ledger = AccountLedger()
    ticker = TickerUpdate("BTCUSDT", D(1), D(1), D(1), D(1), D(1), D(1), D(0), 0)
    assert ledger.admit(ticker)
    assert ledger.admit(ticker)
    assert ledger.generation == 0


def test_generation_counts_admitted_values() -> None:
    ledger = AccountLedger()
    assert ledger.generation == 0
    ledger.admit(order())
    ledger.admit(order())  # refused: not counted
    ledger.admit(position())
    ledger.admit(balance())
    assert ledger.generation == 3
    assert "open_orders=1" in repr(ledger)


# -- diff --------------------------------------------------------------------------------


def primed_ledger(*values: Any) -> AccountLedger:
    ledger = AccountLedger()
    for value in values:
        assert ledger.admit(value)
    ledger.primed = True
    return ledger


def test_diff_nothing_changed() -> None:
    ledger = primed_ledger(order(), position(), balance())
    plan = ledger.diff([rest(order())], [rest(position())], [balance(source=REST)], now_ms=5_000)
    assert plan == Reconciliation()
    assert plan.empty
    assert plan.updates == ()


def test_diff_changed_order_position_balance() -> None:
    ledger = primed_ledger(order(), position(), balance())
    filled = rest(order(status=S.PART_FILLED, filled="0.5", ts=2_000))
    grown = rest(position("p1", "1.5", ts=2_000))
    richer = balance("1200", source=REST)
    plan = ledger.diff([filled], [grown], [richer], now_ms=5_000)
    assert plan.orders == (recovered(filled, event=UpdateEvent.UPDATE),)
    assert plan.positions == (recovered(grown, event=UpdateEvent.UPDATE),)
    assert plan.balances == (recovered(richer),)
    assert plan.unresolved == ()
    assert plan.updates == (*plan.orders, *plan.positions, *plan.balances)
    assert all(v.source is RECOVERED for v in plan.updates)
    assert not plan.empty


def test_diff_new_things_after_priming() -> None:
    ledger = primed_ledger()
    plan = ledger.diff(
        [rest(order("7"))], [rest(position("p7"))], [balance(source=REST)], now_ms=5_000
    )
    assert [(o.order_id, o.event) for o in plan.orders] == [("7", UpdateEvent.CREATE)]
    assert [(p.position_id, p.event) for p in plan.positions] == [("p7", UpdateEvent.OPEN)]
    assert len(plan.balances) == 1
    assert plan.baseline == ()


def test_diff_before_priming_is_a_baseline() -> None:
    ledger = AccountLedger()
    assert repr(ledger).endswith("primed=False>")
    history = [rest(order("h1", S.FILLED, "1"))]
    plan = ledger.diff(
        [rest(order("7"))],
        [rest(position("p7"))],
        [balance(source=REST)],
        history=history,
        now_ms=5_000,
    )
    assert plan.updates == ()
    assert {type(v).__name__ for v in plan.baseline} == {"Order", "Position", "AccountBalance"}
    assert len(plan.baseline) == 4
    assert ledger.settle(plan) == []
    assert ledger.primed
    assert list(ledger.open_orders) == ["7"]
    assert ledger.order("h1") is not None
    assert list(ledger.positions) == ["p7"]
    # The same snapshot again: nothing to deliver.
    again = ledger.diff(
        [rest(order("7"))],
        [rest(position("p7"))],
        [balance(source=REST)],
        history=history,
        now_ms=6_000,
    )
    assert again.empty


def test_before_priming_only_what_predates_the_stream_is_the_baseline() -> None:
    ledger = AccountLedger(start_ms=10_000, skew_ms=1_000, lookback_ms=3_000)
    assert ledger.history_start_ms() == 6_000  # start, less skew, less lookback
    ledger.note_placed("mine")  # placed through the client: a change whatever its times
    history = [
        rest(order("old", S.FILLED, "1", ts=9_999)),  # finished before the start
        rest(order("new", S.FILLED, "1", ts=10_000)),  # finished at the start: a change
        rest(order("mine", S.CANCELED, ts=2_000)),
    ]
    plan = ledger.diff(
        [rest(order("rest", ts=5_000)), rest(order("fresh", ts=12_000))],
        [rest(position("p-old", updated_ms=9_000)), rest(position("p-new", updated_ms=11_000))],
        [balance(source=REST)],
        history=history,
        now_ms=20_000,
    )
    assert [(o.order_id, o.event) for o in plan.orders] == [
        ("fresh", UpdateEvent.CREATE),
        ("mine", UpdateEvent.CLOSE),  # finished orders in time order
        ("new", UpdateEvent.CLOSE),
    ]
    assert [p.position_id for p in plan.positions] == ["p-new"]
    baseline = {
        getattr(v, "order_id", None) or getattr(v, "position_id", "coin") for v in plan.baseline
    }
    assert baseline == {"rest", "old", "p-old", "coin"}
    ledger.settle(plan, fetched_ms=15_000)
    assert ledger.history_start_ms() == 14_000  # from the last reconciliation, less skew


def test_diff_known_things_are_compared_even_before_priming() -> None:
    ledger = AccountLedger()
    ledger.admit(order("1"))  # seen over the WebSocket before the first reconciliation
    plan = ledger.diff([], [], [], history=[rest(order("1", S.FILLED, "1"))], now_ms=5_000)
    assert [(o.order_id, o.status, o.event) for o in plan.orders] == [
        ("1", S.FILLED, UpdateEvent.CLOSE)
    ]


def test_diff_vanished_order_final_state_from_history() -> None:
    ledger = primed_ledger(order("1"), order("2"))
    history = [rest(order("1", S.FILLED, "1", ts=3_000))]
    plan = ledger.diff([rest(order("2"))], [], [], history=history, now_ms=5_000)
    assert [(o.order_id, o.status, o.event, o.source) for o in plan.orders] == [
        ("1", S.FILLED, UpdateEvent.CLOSE, RECOVERED)
    ]
    assert plan.unresolved == ()


def test_diff_vanished_order_unresolved_then_looked_up() -> None:
    ledger = primed_ledger(order("1"), order("2", symbol="ETHUSDT"))
    plan = ledger.diff([], [], [], now_ms=5_000)
    assert plan.unresolved == ("1", "2")
    assert plan.orders == ()
    finals = [rest(order("1", S.CANCELED, ts=4_000)), rest(order("2", S.FILLED, "1"))]
    out = ledger.settle(plan, finals)
    assert [(k, v.order_id, v.status, v.event, v.source) for k, v in out] == [  # type: ignore[union-attr]
        (ORDERS_KEY, "1", S.CANCELED, UpdateEvent.CLOSE, RECOVERED),
        (ORDERS_KEY, "2", S.FILLED, UpdateEvent.CLOSE, RECOVERED),
    ]
    assert not ledger.has_open_orders


def test_diff_vanished_order_outside_the_symbols_is_left_alone() -> None:
    ledger = primed_ledger(order("1"), order("2", symbol="ETHUSDT"))
    plan = ledger.diff([], [], [], now_ms=5_000, symbols={"BTCUSDT"})
    assert plan.unresolved == ("1",)


def test_diff_orders_started_and_ended_unseen() -> None:
    ledger = primed_ledger(order("old", S.FILLED, "1"))
    history = [
        rest(order("b", S.CANCELED, ts=3_000)),  # newest first, as the exchange lists them
        rest(order("a", S.FILLED, "1", ts=2_000)),
        rest(order("old", S.FILLED, "1")),
    ]
    plan = ledger.diff([], [], [], history=history, now_ms=5_000)
    assert [(o.order_id, o.event) for o in plan.orders] == [
        ("a", UpdateEvent.CLOSE),  # delivered oldest first
        ("b", UpdateEvent.CLOSE),
    ]


def test_diff_history_row_of_a_pending_order_is_ignored() -> None:
    ledger = primed_ledger()
    plan = ledger.diff(
        [rest(order("1"))], [], [], history=[rest(order("1", S.FILLED, "1"))], now_ms=5_000
    )
    assert [(o.order_id, o.status) for o in plan.orders] == [("1", S.NEW)]


def test_diff_older_rest_state_is_not_delivered() -> None:
    ledger = primed_ledger(order("1", S.PART_FILLED, "0.5"))
    plan = ledger.diff([rest(order("1"))], [], [], now_ms=5_000)
    assert plan.empty


def test_diff_gone_position_is_delivered_closed() -> None:
    ledger = primed_ledger(
        position("p1", "2", unrealized_pnl=D(7)), position("p2", symbol="ETHUSDT")
    )
    plan = ledger.diff([], [rest(position("p2", symbol="ETHUSDT"))], [], now_ms=5_000)
    assert len(plan.positions) == 1
    closed = plan.positions[0]
    assert closed.position_id == "p1"
    assert closed.qty == 0
    assert closed.event is UpdateEvent.CLOSE
    assert closed.source is RECOVERED
    assert closed.ts == 5_000
    assert closed.entry_value == 0
    assert closed.unrealized_pnl == 0
    assert closed.side is PositionSide.LONG
    out = ledger.settle(plan)
    assert out == [(POSITIONS_KEY, closed)]
    assert ledger.positions.keys() == {"p2"}
    # The WebSocket's own CLOSE arriving afterwards is a repeat.
    assert not ledger.admit(position("p1", "0", event=UpdateEvent.CLOSE))


def test_diff_gone_position_outside_the_symbols_is_left_alone() -> None:
    ledger = primed_ledger(position("p1"), position("p2", symbol="ETHUSDT"))
    plan = ledger.diff([], [], [], now_ms=5_000, symbols=["ETHUSDT"])
    assert [p.position_id for p in plan.positions] == ["p2"]


def test_diff_position_reopened_with_a_closed_id() -> None:
    ledger = primed_ledger(position(), position("p1", "0", event=UpdateEvent.CLOSE))
    plan = ledger.diff([], [rest(position("p1", "4"))], [], now_ms=5_000)
    assert [(p.qty, p.event) for p in plan.positions] == [(D(4), UpdateEvent.OPEN)]
    assert len(ledger.settle(plan)) == 1
    assert ledger.positions["p1"].qty == 4


def test_diff_skips_keys_admitted_since_the_fetch_began() -> None:
    ledger = primed_ledger(order("1"), order("2"), position("p1"), balance())
    since = ledger.generation
    # While the snapshots were being fetched, pushes brought newer states of all of them.
    ledger.admit(order("1", S.FILLED, "1", event=UpdateEvent.CLOSE))
    ledger.admit(order("2", S.PART_FILLED, "0.5", event=UpdateEvent.UPDATE))
    ledger.admit(position("p1", "3", event=UpdateEvent.UPDATE))
    ledger.admit(balance("10"))
    ledger.admit(order("3"))
    plan = ledger.diff(
        [rest(order("1")), rest(order("2"))],  # snapshot from before the pushes
        [rest(position("p1"))],
        [balance(source=REST)],
        now_ms=5_000,
        since=since,
    )
    assert plan.empty  # order 3 is not pending in the snapshot but is fresh: not unresolved
    # Without ``since`` the stale snapshot would have looked like changes.
    naive = ledger.diff(
        [rest(order("1")), rest(order("2"))],
        [rest(position("p1"))],
        [balance(source=REST)],
        now_ms=5_000,
    )
    assert naive.positions
    assert naive.balances
    assert naive.unresolved == ("3",)


def test_diff_of_a_closed_position_fresh_since_the_fetch() -> None:
    ledger = primed_ledger(position())
    since = ledger.generation
    ledger.admit(position("p1", "0", event=UpdateEvent.CLOSE))
    plan = ledger.diff([], [rest(position())], [], now_ms=5_000, since=since)
    assert plan.empty


def test_settle_then_websocket_repeat_is_refused() -> None:
    """A fill recovered over REST and then pushed over the WebSocket: delivered once."""
    ledger = primed_ledger(order("1"), position("p1"), balance())
    plan = ledger.diff(
        [],
        [rest(position("p1", "2"))],
        [balance("900", source=REST)],
        history=[rest(order("1", S.FILLED, "1"))],
        now_ms=5_000,
    )
    out = ledger.settle(plan)
    assert [k for k, _ in out] == [ORDERS_KEY, POSITIONS_KEY, BALANCE_KEY]
    assert not ledger.admit(order("1", S.FILLED, "1", event=UpdateEvent.CLOSE))
    assert not ledger.admit(position("p1", "2", event=UpdateEvent.UPDATE))
    assert not ledger.admit(balance("900"))
    # and the reverse: a second reconciliation finds nothing new
    assert ledger.diff(
        [], [rest(position("p1", "2"))], [balance("900", source=REST)], now_ms=6_000
    ).empty


def test_settle_drops_repeats_among_finals() -> None:
    ledger = primed_ledger(order("1"))
    plan = ledger.diff([], [], [], now_ms=5_000)
    ledger.admit(order("1", S.FILLED, "1", event=UpdateEvent.CLOSE))  # pushed meanwhile
    assert ledger.settle(plan, [rest(order("1", S.FILLED, "1"))]) == []


def test_resolve_final_events() -> None:
    ledger = AccountLedger()
    finals = ledger.resolve_final([rest(order("1", S.FILLED, "1")), rest(order("2"))])
    assert [(o.event, o.source) for o in finals] == [
        (UpdateEvent.CLOSE, RECOVERED),
        (UpdateEvent.UPDATE, RECOVERED),
    ]
