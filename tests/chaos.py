"""The chaos soak: a stream and a trading bot against an exchange that keeps failing.

Seeded and deterministic, in virtual time (Trio's ``MockClock`` with autojump) over the
in-memory simulated exchange. Every few virtual seconds a fault from the menu below is
injected while the market runs and a bot places and cancels orders through the stream's
REST client: every kind once in a random order, then drawn by weight. Checked throughout
and at the end:

* every order state the exchange ends with reaches the orders consumer, and no order state
  (id, status, filled quantity) is delivered twice; order states only move forward;
* order books are well formed (bids descend, asks ascend, the best bid below the best ask,
  quantities positive);
* state events follow the state machine (each one starts where the previous one of its
  connection ended, never a change to the same state, nothing after ``CLOSED``);
* memory is bounded: sampled 24 times a run, no subscription buffer above its capacity, the
  account ledger within its caps and holding no open order the exchange no longer has, and
  the memory the stream retains (its object graph, measured with ``sys.getsizeof``) growing
  by at most 10 % once the ledger is full (the one store that grows with the number of
  orders, up to its cap);
* no task of the stream or of trio-websocket is left once the stream is closed.

``run_soak(seed, seconds)`` runs one seed under the current Trio run (which must use an
autojumping ``MockClock``); ``python tests/chaos.py [SEEDS] [--hours H] [--jobs N]
[--tick-ms MS]`` runs seeds (``1-20`` by default) for ``H`` virtual hours each (24 by
default), ``N`` at once in worker processes (1), with the market pushing every ``MS``
milliseconds (310), and prints the figures: faults injected by kind, orders and account
events checked, lost and duplicated, memory retained, wall time.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import multiprocessing
import os
import random
import sys
import time
import types
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import trio
import trio.testing

import bitunix_trio as bt
from bitunix_trio._core.ledger import order_is_newer
from bitunix_trio.testing import ExchangeEngine, SimulatedExchange, open_simulated_exchange

__all__ = ["SoakReport", "run_soak"]

S = bt.ConnectionState
#: Fault menu and weights (the rare burst: more than a page of orders finished while away).
#: ``login_reject``: the exchange refuses the next 1-3 logins and drops every socket, so the
#: re-logins after the reconnect are refused and retried (``ReconnectPolicy.relogin_retries``
#: is 5) until one is accepted.
FAULTS: dict[str, int] = {
    "drop": 6,
    "close": 3,
    "silence": 4,
    "garbage": 5,
    "ping_loss": 3,
    "login_reject": 3,
    "rest_throttle": 4,
    "rest_outage": 4,
    "rest_malformed": 4,
    "ws_outage": 4,
    "away": 8,
    "fill": 6,
    "away_burst": 1,
}
SYMBOL = "ETHUSDT"
#: When the simulated exchange opens (Unix ms), for every seed.
START_MS = 1_790_000_000_000
_LIBRARY_TASKS = (
    "bitunix_trio._stream.open",
    "bitunix_trio._stream.pool",
    "bitunix_trio._stream.stream",
    "bitunix_trio._stream.connection",
    "trio_websocket",
)

OrderState = tuple[str, bt.OrderStatus, Decimal]


@dataclass
class SoakReport:
    """What one soak run did and found."""

    seed: int
    virtual_seconds: float
    faults: Counter[str] = field(default_factory=Counter)
    #: Order states the exchange ended with, each checked against what was delivered.
    orders_checked: int = 0
    #: Fills made by the exchange (whole or partial), each checked.
    fills_checked: int = 0
    #: Values delivered on the account channels (orders, positions, balances).
    account_events: int = 0
    books: int = 0
    state_events: int = 0
    lost: list[OrderState] = field(default_factory=list)
    duplicated: list[OrderState] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    max_buffer_used: int = 0
    #: Bytes the stream retained, at most and at the end (see ``_retained_bytes``).
    max_retained_bytes: int = 0
    retained_bytes: int = 0
    #: Retained bytes when the ledger first held its cap of finished orders (None: never).
    retained_at_full: int | None = None
    #: The most orders that finished (filled or cancelled) in one spell away.
    max_finished_away: int = 0
    leftover_tasks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing duplicated, no problem, no task left."""
        return not (self.lost or self.duplicated or self.problems or self.leftover_tasks)


#: Not followed when measuring what the stream retains: code, tasks and frames (they reach
#: everything), the simulated exchange, and Trio's and the standard library's machinery.
_NOT_RETAINED = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    types.CoroutineType,
    types.GeneratorType,
    types.AsyncGeneratorType,
    trio.lowlevel.Task,
    trio.Nursery,
    trio.CancelScope,
)
_FOREIGN_MODULES = ("bitunix_trio.testing", "trio", "_thread", "logging", "ssl", "random")
#: Growth allowed once the ledger is full: 10 % and 64 KiB.
_FULL_GROWTH = (1.10, 65_536)


def _retained_bytes(stream: bt.BitunixStream) -> int:
    """The ``sys.getsizeof`` sum of the objects reachable from ``stream`` (its buffers,
    ledger, protocols, REST client...), not counting the exchange or Trio's machinery."""
    seen: set[int] = set()
    stack: list[object] = [stream]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, _NOT_RETAINED):
            continue
        module = type(obj).__module__ or ""
        if module.startswith(_FOREIGN_MODULES) and not module.startswith("trio._channel"):
            continue
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def _library_tasks() -> list[str]:
    def walk(task: trio.lowlevel.Task) -> Iterator[trio.lowlevel.Task]:
        yield task
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                yield from walk(child)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return sorted(t.name for t in walk(root) if t.name.startswith(_LIBRARY_TASKS))


class _Checker:
    """The consumers' side: records deliveries and checks them as they arrive."""

    def __init__(self, report: SoakReport) -> None:
        self.report = report
        self.delivered: Counter[OrderState] = Counter()
        self.last: dict[str, bt.Order] = {}
        self.states: dict[str | None, S] = {}
        self.fill_ids: set[str] = set()
        self.filled: defaultdict[str, Decimal] = defaultdict(Decimal)

    def problem(self, text: str) -> None:
        if len(self.report.problems) < 20:
            self.report.problems.append(f"t={trio.current_time():.1f}: {text}")

    async def fills(self, channel: trio.abc.ReceiveChannel[bt.Fill]) -> None:
        async for fill in channel:
            if fill.fill_id in self.fill_ids:
                self.problem(f"fill {fill.fill_id} delivered twice")
            self.fill_ids.add(fill.fill_id)
            self.filled[fill.order_id] += fill.qty

    async def orders(self, channel: trio.abc.ReceiveChannel[bt.Order]) -> None:
        async for order in channel:
            self.report.account_events += 1
            state = (order.order_id, order.status, order.filled_qty)
            self.delivered[state] += 1
            if self.delivered[state] == 2:
                self.report.duplicated.append(state)
            last = self.last.get(order.order_id)
            if last is not None and not order_is_newer(order, last):
                self.problem(f"order {order.order_id} went back: {last.status} -> {order.status}")
            self.last[order.order_id] = order

    async def account(self, channel: trio.abc.ReceiveChannel[Any]) -> None:
        async for _ in channel:
            self.report.account_events += 1

    async def books(self, channel: trio.abc.ReceiveChannel[bt.OrderBookUpdate]) -> None:
        async for book in channel:
            self.report.books += 1
            bids, asks = book.bids, book.asks
            if any(a[0] <= b[0] for a, b in itertools.pairwise(bids)):
                self.problem(f"bids not descending: {bids}")
            if any(b[0] <= a[0] for a, b in itertools.pairwise(asks)):
                self.problem(f"asks not ascending: {asks}")
            if bids and asks and bids[0][0] >= asks[0][0]:
                self.problem(f"crossed book: {bids[0]} / {asks[0]}")
            if any(level[1] <= 0 for level in (*bids, *asks)):
                self.problem("a level without quantity")

    async def states_of(self, channel: trio.abc.ReceiveChannel[bt.StateChange]) -> None:
        async for change in channel:
            self.report.state_events += 1
            previous = self.states.get(change.connection)
            if change.old is change.new:
                self.problem(f"{change.connection}: a change to the same state {change.new}")
            if previous is not None and change.old is not previous:
                self.problem(f"{change.connection}: {change.old} after {previous}")
            if previous is S.CLOSED:
                self.problem(f"{change.connection}: a change after CLOSED")
            self.states[change.connection] = change.new


class _Bot:
    """Places and cancels far-from-market orders through the stream's REST client."""

    def __init__(self, stream: bt.BitunixStream, rng: random.Random) -> None:
        self.stream = stream
        self.rng = rng
        self.open: list[str] = []
        self.stopped = False

    async def run(self) -> None:
        rest = self.stream.rest
        while not self.stopped:
            await trio.sleep(self.rng.uniform(3, 15))
            try:
                if self.open and self.rng.random() < 0.3:
                    victim = self.open.pop(self.rng.randrange(len(self.open)))
                    await rest.cancel_orders(SYMBOL, victim)
                elif len(self.open) < 40:
                    side = self.rng.choice(["BUY", "SELL"])
                    price = 1000 + self.rng.randrange(100) if side == "BUY" else 9000
                    placed = await rest.place_order(SYMBOL, side, "LIMIT", "0.01", price)
                    self.open.append(placed.order_id)
            except bt.BitunixError:
                pass  # REST faults: the bot carries on


def _logged_in(stream: bt.BitunixStream) -> bool:
    """Whether the private connection is logged in."""
    return any(
        c.name == "private" and c.state is S.AUTHENTICATED for c in stream.statistics().connections
    )


async def _fault(
    sim: SimulatedExchange, rng: random.Random, name: str, stream: bt.BitunixStream
) -> int:
    """Inject one fault, hold it for a while, lift it; the number of orders that finished
    (filled or cancelled) while the client was away."""
    key = sim.credentials.api_key
    engine = sim.engine

    def open_ids() -> list[str]:
        return [o.order_id for o in engine.pending_orders(key, SYMBOL)]

    def new_order() -> str:
        side = rng.choice(["BUY", "SELL"])
        price = Decimal(1000 + rng.randrange(100)) if side == "BUY" else Decimal(9000)
        order = engine.place_order(
            key, symbol=SYMBOL, side=side, order_type="LIMIT", qty=Decimal("0.02"), price=price
        )
        return order.order_id

    def touch_order() -> bool:
        """Fill, partly fill or cancel one order, new or one of the bot's; True if it
        finished."""
        ids = open_ids()
        order_id = new_order() if rng.random() < 0.3 or not ids else rng.choice(ids)
        action = rng.random()
        if action < 0.5:
            sim.fill_order(order_id)
        elif action < 0.8:
            return sim.fill_order(order_id, Decimal("0.01")).status is bt.OrderStatus.FILLED
        else:
            sim.cancel_order(order_id)
        return True

    def finish_order() -> None:
        """Fill (the rest of) or cancel one order, new or open."""
        ids = open_ids()
        order_id = new_order() if rng.random() < 0.5 or not ids else rng.choice(ids)
        if rng.random() < 0.7:
            sim.fill_order(order_id)
        else:
            sim.cancel_order(order_id)

    finished = 0
    if name == "drop":
        sim.drop_all()
    elif name == "close":
        sim.close_all(1011, "maintenance")
    elif name == "silence":
        sim.go_silent()
        await trio.sleep(rng.uniform(5, 30))
        sim.go_silent(False)
    elif name == "garbage":
        sim.send_garbage(rng.randint(1, 5))
    elif name == "ping_loss":
        sim.stop_answering_pings()
        await trio.sleep(rng.uniform(20, 40))
        sim.stop_answering_pings(False)
    elif name == "login_reject":
        # Held until every refusal was used and a re-login succeeded (the backoff may take
        # a while): refusals of two faults must not add up past relogin_retries in a row.
        sim.reject_next_logins(rng.randint(1, 3))
        sim.drop_all()
        await trio.sleep(rng.uniform(10, 30))
        for _ in range(600):
            if not sim.faults.reject_logins and _logged_in(stream):
                break
            await trio.sleep(1)
        sim.reject_next_logins(0)
    elif name == "rest_throttle":
        sim.throttle_rest()
        await trio.sleep(rng.uniform(5, 30))
        sim.throttle_rest(False)
    elif name == "rest_outage":
        sim.rest_down()
        await trio.sleep(rng.uniform(5, 30))
        sim.rest_down(False)
    elif name == "rest_malformed":
        sim.malformed_rest()
        await trio.sleep(rng.uniform(5, 30))
        sim.malformed_rest(False)
    elif name == "ws_outage":
        sim.ws_down()
        await trio.sleep(rng.uniform(5, 40))
        sim.ws_down(False)
    elif name == "fill":
        for _ in range(rng.randint(1, 3)):  # on a healthy socket
            touch_order()
    elif name == "away":
        with sim.offline():
            rest_too = rng.random() < 0.3
            if rest_too:
                sim.rest_down()
            for _ in range(rng.randint(1, 20)):
                finished += touch_order()
                await trio.sleep(rng.uniform(0.05, 0.5))
            await trio.sleep(rng.uniform(2, 20))
            if rest_too:
                sim.rest_down(False)
    elif name == "away_burst":
        # Over a page of orders finish in one spell away: reconciliation must page.
        with sim.offline():
            finished = rng.randint(101, 160)
            for _ in range(finished):
                finish_order()
                await trio.sleep(rng.uniform(0.05, 0.3))
            await trio.sleep(rng.uniform(2, 20))
    else:  # pragma: no cover - the menu is fixed
        raise ValueError(name)
    return finished


async def run_soak(
    seed: int,
    seconds: float,
    *,
    fault_gap: tuple[float, float] = (2, 10),
    tick_ms: int = 310,
) -> SoakReport:
    """One soak run of ``seconds`` virtual seconds (see the module docs); ``tick_ms`` is the
    market's push cadence."""
    rng = random.Random(seed)
    report = SoakReport(seed=seed, virtual_seconds=seconds)
    checker = _Checker(report)
    names = list(FAULTS)
    weights = [FAULTS[n] for n in names]
    # A fixed start: the same seed gives the same run (the wall clock would shift every
    # exchange time, ping value and signature from one run to the next).
    engine = ExchangeEngine(seed=seed, start_ms=START_MS, tick_ms=tick_ms)
    async with open_simulated_exchange(seed=seed, memory=True, engine=engine) as sim:
        key = sim.credentials.api_key
        start_ms = sim.now_ms()
        async with (
            bt.open_bitunix_stream(
                **sim.stream_options(), rng=random.Random(seed), reconcile_interval=60.0
            ) as stream,
            stream.subscribe(bt.OrderBook("BTCUSDT", depth=5)) as books,
            stream.subscribe(bt.Orders(), buffer=100_000) as orders,
            stream.subscribe(bt.Positions(), buffer=100_000) as positions,
            stream.subscribe(bt.Balance(), buffer=100_000) as balances,
            stream.subscribe(bt.Fills(), buffer=100_000) as fills,
            stream.state_events(buffer=100_000) as changes,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(checker.books, books)
            nursery.start_soon(checker.orders, orders)
            nursery.start_soon(checker.account, positions)
            nursery.start_soon(checker.account, balances)
            nursery.start_soon(checker.fills, fills)
            nursery.start_soon(checker.states_of, changes)
            bot = _Bot(stream, rng)
            nursery.start_soon(bot.run)
            nursery.start_soon(_watch_memory, stream, checker, max(seconds / 24, 5.0))
            end = trio.current_time() + seconds
            # Every kind once, in a random order, then drawn by weight: a short run covers
            # the whole menu too.
            tour = rng.sample(names, len(names))
            subscriptions = (books, orders, positions, balances)
            while trio.current_time() < end:
                await trio.sleep(rng.uniform(*fault_gap))
                name = tour.pop() if tour else rng.choices(names, weights)[0]
                finished = await _fault(sim, rng, name, stream)
                report.max_finished_away = max(report.max_finished_away, finished)
                report.faults[name] += 1
                for sub in subscriptions:
                    stats = sub.statistics()
                    report.max_buffer_used = max(report.max_buffer_used, stats.buffer_used)
                    if stats.buffer_used > stats.buffer_size:
                        checker.problem(f"{stats.spec}: buffer over its capacity")
            # Quiet: every fault lifted, the bot stopped; the last reconciliation settles.
            sim.reset_faults()
            bot.stopped = True
            await trio.sleep(90)
            for _ in range(10):
                try:
                    await stream.reconcile()
                    break
                except bt.BitunixError:
                    await trio.sleep(30)
            await trio.sleep(5)
            _check_ledger(stream, sim, key, checker)
            nursery.cancel_scope.cancel()
        report.leftover_tasks = _library_tasks()
        _check_exchange(sim, key, start_ms, checker)
    return report


async def _watch_memory(stream: bt.BitunixStream, checker: _Checker, every: float) -> None:
    while True:
        await trio.sleep(every)
        _check_memory(stream, checker)


def _check_memory(stream: bt.BitunixStream, checker: _Checker) -> None:
    """The ledger within its caps; what the stream retains flat once the ledger is full."""
    report = checker.report
    fallback = stream._supervisor.fallback
    assert fallback is not None
    ledger = fallback.ledger  # the account ledger: bounded by its caps
    cap = ledger.max_finished
    if max(len(ledger._finished), len(ledger._closed), len(ledger._placed)) > cap:
        checker.problem("the account ledger grew past its cap")
    size = _retained_bytes(stream)
    report.retained_bytes = size
    report.max_retained_bytes = max(report.max_retained_bytes, size)
    if report.retained_at_full is None:
        if len(ledger._finished) >= cap:
            report.retained_at_full = size
    else:
        factor, slack = _FULL_GROWTH
        if size > report.retained_at_full * factor + slack:
            checker.problem(
                f"the stream retains {size} bytes, {report.retained_at_full} when its ledger"
                " filled up"
            )


def _check_ledger(
    stream: bt.BitunixStream, sim: SimulatedExchange, key: str, checker: _Checker
) -> None:
    """After the last reconciliation: memory as above, and the ledger's open orders are
    exactly the exchange's (none kept after it finished)."""
    _check_memory(stream, checker)
    fallback = stream._supervisor.fallback
    assert fallback is not None
    kept = set(fallback.ledger.open_orders)
    pending = {o.order_id for o in sim.engine.pending_orders(key)}
    if kept != pending:
        checker.problem(
            f"ledger's open orders differ from the exchange's: {len(kept - pending)} kept"
            f" that finished, {len(pending - kept)} open missing"
        )


def _check_exchange(sim: SimulatedExchange, key: str, start_ms: int, checker: _Checker) -> None:
    """Every order state the exchange ended with was delivered (exactly once: see the
    orders consumer for repeats)."""
    report = checker.report
    engine = sim.engine
    finals = [*engine.pending_orders(key), *engine.history_orders(key)]
    for order in finals:
        if (order.created_ms or 0) < start_ms:
            continue
        report.orders_checked += 1
        if order.filled_qty > 0:
            report.fills_checked += 1
            if checker.filled[order.order_id] != order.filled_qty:  # each fill once
                checker.problem(
                    f"fills of {order.order_id}: {checker.filled[order.order_id]} delivered, "
                    f"{order.filled_qty} filled"
                )
        state = (order.order_id, order.status, order.filled_qty)
        if checker.delivered[state] == 0:
            report.lost.append(state)


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out += range(int(low), int(high or low) + 1)
    return out


def _run_seed(seed: int, hours: float, tick_ms: int) -> tuple[SoakReport, float]:
    """One seed under its own Trio run and virtual clock; the report and the wall time."""
    t0 = time.perf_counter()
    # Trio picks the order of tasks woken together at random, from its own generator:
    # seeded, the same seed gives the same run.
    trio._core._run._r.seed(seed)
    clock = trio.testing.MockClock(autojump_threshold=0)
    run = functools.partial(run_soak, seed, hours * 3600, tick_ms=tick_ms)
    report = trio.run(run, clock=clock)
    return report, time.perf_counter() - t0


def _describe(report: SoakReport, wall: float) -> str:
    return (
        f"seed {report.seed}: {sum(report.faults.values())} faults, {report.orders_checked}"
        f" orders ({report.fills_checked} with fills) checked, {report.account_events}"
        f" account events, {report.books} books, {report.state_events} state events,"
        f" lost {len(report.lost)}, duplicated {len(report.duplicated)},"
        f" max buffer {report.max_buffer_used}, most finished away"
        f" {report.max_finished_away}, retained {report.max_retained_bytes / 2**20:.1f} MiB at"
        f" most ({report.retained_bytes / 2**20:.1f} at the end), {wall:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the soak for the seeds given (``1-20``) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="?", default="1-20", help="e.g. 1-20 or 3,5,7")
    parser.add_argument("--hours", type=float, default=24.0, help="virtual hours per seed")
    parser.add_argument(
        "--jobs", type=int, default=1, help="seeds run at once, in worker processes"
    )
    parser.add_argument("--tick-ms", type=int, default=310, help="market push cadence")
    args = parser.parse_args(argv)
    seeds = _seeds(args.seeds)
    total: Counter[str] = Counter()
    checked = fills = events = lost = duplicated = 0
    most_away = retained = 0
    failed = []
    began = time.perf_counter()
    # Each seed in a fresh worker process with string hashing fixed, so a seed's run is the
    # same whatever ran before it and however many run at once.
    os.environ["PYTHONHASHSEED"] = "0"
    pool = multiprocessing.get_context("spawn").Pool(args.jobs, maxtasksperchild=1)
    runs: Iterator[tuple[SoakReport, float]] = pool.imap(
        functools.partial(_run_seed, hours=args.hours, tick_ms=args.tick_ms), seeds
    )
    for report, wall in runs:
        total.update(report.faults)
        checked += report.orders_checked
        fills += report.fills_checked
        events += report.account_events
        lost += len(report.lost)
        duplicated += len(report.duplicated)
        most_away = max(most_away, report.max_finished_away)
        retained = max(retained, report.max_retained_bytes)
        print(_describe(report, wall), flush=True)
        if not report.ok:
            failed.append(report.seed)
            print(f"  lost={report.lost[:5]} duplicated={report.duplicated[:5]}")
            print(f"  problems={report.problems[:5]} tasks left={report.leftover_tasks}")
    pool.close()
    pool.join()
    print(
        f"{len(seeds)} seeds x {args.hours:g} virtual hours; faults injected by kind:",
        dict(sorted(total.items())),
        f"(total {sum(total.values())})",
    )
    print(
        f"orders checked {checked} ({fills} with fills), account events checked {events},"
        f" lost {lost}, duplicated {duplicated}, most orders finished in one spell away"
        f" {most_away}, stream retained at most {retained / 2**20:.1f} MiB,"
        f" failed seeds {failed}, wall time {time.perf_counter() - began:.0f} s"
        f" ({args.jobs} job{'s' if args.jobs > 1 else ''})",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
