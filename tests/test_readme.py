"""Every Python block of README.md runs, as written, so none can rot.

sybil finds the blocks (its Markdown code-block parser, with their line numbers, so a
failure points into README.md). Each block is a whole program and runs in a namespace of
its own: a missing import fails here as it would for a reader. What a block would send to
the real exchange goes to the simulated one instead, without changing a word the reader sees:

* ``trio.run(main)`` runs ``main`` under ``MockClock(autojump_threshold=0)`` next to an
  in-memory simulated exchange, and ``bt.open_bitunix_stream`` / ``bt.open_rest_client``
  get that exchange's options for every argument the block does not give
  (``exchange.stream_options(**given)``). A block that never ends (``async for`` over a
  live subscription) is stopped after five seconds of virtual market time.
* ``BITUNIX_API_KEY`` / ``BITUNIX_SECRET_KEY`` hold the exchange's demo account, and the
  block runs in a fresh directory holding that account as ``api_keys.json`` and the
  recording shipped with the tests as ``demo.jsonl.gz``.
* A block that opens its own simulated exchange runs on the real clock as written (it must
  end by itself); functions named ``test_*`` that it defines are run as pytest-trio would,
  with ``autojump_clock``.

Every block must print something (or define a test): a block that silently did nothing
would pass for the wrong reason.
"""

from __future__ import annotations

import builtins
import inspect
import json
import re
import shutil
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from sybil import Example, Sybil
from sybil.evaluators.python import pad
from sybil.parsers.markdown import CodeBlockParser

import bitunix_trio as bt
from bitunix_trio.testing import SimulatedExchange, demo_credentials, open_simulated_exchange

README = Path(__file__).resolve().parent.parent / "README.md"
RECORDING = Path(__file__).resolve().parent / "data" / "demo_btcusdt_ethusdt.jsonl.gz"
#: Virtual seconds a never-ending block runs before it is stopped.
ENDLESS_BLOCK_SECONDS = 5
#: Real seconds a block that runs its own simulated exchange may take.
OWN_EXCHANGE_TIMEOUT = 60


class ReadmeBlock:
    """What one README block needs to run: the fixtures and the recorded output."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
        self.monkeypatch = monkeypatch
        self.directory = directory
        self.printed: list[str] = []
        self.tests_run: list[str] = []
        self._trio_run = trio.run

    def print(self, *values: object, **kwargs: Any) -> None:
        self.printed.append(" ".join(map(str, values)))
        builtins.print(*values, **kwargs)

    def account(self) -> None:
        """The demo account in the environment and in ``api_keys.json``."""
        credentials = demo_credentials(0)
        self.monkeypatch.setenv("BITUNIX_API_KEY", credentials.api_key)
        self.monkeypatch.setenv("BITUNIX_SECRET_KEY", credentials.secret_key)
        keys = {"BitUnix": {"apiKey": credentials.api_key, "secretKey": credentials.secret_key}}
        (self.directory / "api_keys.json").write_text(json.dumps(keys))
        (self.directory / "api_keys.json").chmod(0o600)  # as a credentials file should be
        # The recording the record-and-replay block replays, as `record --demo` made it.
        shutil.copy(RECORDING, self.directory / "demo.jsonl.gz")
        self.monkeypatch.chdir(self.directory)

    def point_clients_at(self, exchange: SimulatedExchange) -> None:
        """``bt.open_bitunix_stream`` and ``bt.open_rest_client`` default to ``exchange``."""
        stream, rest = bt.open_bitunix_stream, bt.open_rest_client

        def open_stream(*args: Any, **kwargs: Any) -> AbstractAsyncContextManager[Any]:
            given = inspect.signature(stream).bind_partial(*args, **kwargs).arguments
            return stream(**exchange.stream_options(**given))

        def open_rest(*args: Any, **kwargs: Any) -> AbstractAsyncContextManager[Any]:
            given = inspect.signature(rest).bind_partial(*args, **kwargs).arguments
            return rest(**exchange.rest_options(**given))

        self.monkeypatch.setattr(bt, "open_bitunix_stream", open_stream)
        self.monkeypatch.setattr(bt, "open_rest_client", open_rest)

    def run_against_simulated_exchange(
        self, main: Callable[..., Awaitable[object]], *args: object
    ) -> None:
        """``trio.run(main, *args)`` as the README blocks call it, against the simulator."""

        async def run() -> None:
            async with open_simulated_exchange(seed=0, memory=True) as exchange:
                self.point_clients_at(exchange)
                with trio.move_on_after(ENDLESS_BLOCK_SECONDS):
                    await main(*args)

        self._trio_run(run, clock=trio.testing.MockClock(autojump_threshold=0))

    def run_bounded(self, main: Callable[..., Awaitable[object]], *args: object) -> None:
        """``trio.run(main, *args)`` on the real clock, failing if it does not end."""

        async def run() -> None:
            with trio.fail_after(OWN_EXCHANGE_TIMEOUT):
                await main(*args)

        self._trio_run(run)

    def run_tests(self, namespace: dict[str, Any]) -> None:
        """Run the ``test_*`` coroutine functions a block defined, as pytest-trio would."""
        for name, function in list(namespace.items()):
            if not (name.startswith("test_") and inspect.iscoroutinefunction(function)):
                continue
            clock = trio.testing.MockClock(autojump_threshold=0)
            fixtures = {"autojump_clock": clock}
            wanted = inspect.signature(function).parameters
            assert set(wanted) <= set(fixtures), f"{name} takes unknown fixtures"
            self._trio_run(partial(function, **{k: fixtures[k] for k in wanted}), clock=clock)
            self.tests_run.append(name)


def evaluate_block(example: Example) -> None:
    """sybil's evaluator for the README's Python blocks (see the module docs)."""
    block: ReadmeBlock = example.namespace["readme_block"]
    source = str(example.parsed)
    code = compile(
        pad(source, example.line + example.parsed.line_offset),
        str(example.path),
        "exec",
        dont_inherit=True,
    )
    block.account()
    if "open_simulated_exchange(" in source:
        block.monkeypatch.setattr(trio, "run", block.run_bounded)
    else:
        block.monkeypatch.setattr(trio, "run", block.run_against_simulated_exchange)
    namespace: dict[str, Any] = {"__name__": "readme", "print": block.print}
    exec(code, namespace)
    block.run_tests(namespace)
    assert block.printed or block.tests_run, "the block printed nothing and defined no test"


SYBIL = Sybil(parsers=[CodeBlockParser("python", evaluator=evaluate_block)])
EXAMPLES = list(SYBIL.parse(README).examples())


def test_the_readme_has_its_python_blocks() -> None:
    # Every fenced block is Python (run below) or a console transcript: none escapes.
    languages = re.findall(r"^```(\w*)$", README.read_text(encoding="utf-8"), re.MULTILINE)
    openings = languages[::2]
    assert set(openings) <= {"python", "console", ""}, openings
    assert openings.count("python") == len(EXAMPLES) >= 7


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: f"line{example.line}")
def test_readme_block_runs(
    example: Example, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    example.namespace["readme_block"] = ReadmeBlock(monkeypatch, tmp_path)
    example.evaluate()
