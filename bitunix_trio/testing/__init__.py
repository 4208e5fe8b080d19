"""A simulated BitUnix futures exchange for offline tests, demos and bots (like ``trio.testing``).

It speaks the real wire protocol (WebSocket ``/public/`` and ``/private/``, the REST API)
over a deterministic, seeded market with accounts and a matching engine, and can be told
to misbehave the way the real exchange does::

    from bitunix_trio.testing import open_simulated_exchange

    async with open_simulated_exchange(seed=7) as exchange:
        # exchange.public_url, exchange.private_url, exchange.rest_url,
        # exchange.credentials (an account it accepts), exchange.recorder, ...
        exchange.drop_all()  # every socket dropped with no close frame

With ``memory=True`` nothing binds a socket and ``trio.testing.MockClock`` tests are exact:
connect through ``exchange.connector`` and ``exchange.rest_transport()``.
"""

from __future__ import annotations

from bitunix_trio._stream.recording import RecordedFrame as RecordedFrame
from bitunix_trio._stream.recording import RecordedResponse as RecordedResponse
from bitunix_trio._stream.recording import Recording as Recording
from bitunix_trio._stream.recording import load_recording as load_recording

from ._cli import serve_sim as serve_sim
from ._engine.engine import DEFAULT_INSTRUMENTS as DEFAULT_INSTRUMENTS
from ._engine.engine import Account as Account
from ._engine.engine import ExchangeEngine as ExchangeEngine
from ._engine.engine import Instrument as Instrument
from ._engine.engine import SimulatedError as SimulatedError
from ._engine.market import DEFAULT_SYMBOLS as DEFAULT_SYMBOLS
from ._engine.market import INSTRUMENT_CATALOGUE as INSTRUMENT_CATALOGUE
from ._exchange import SimulatedExchange as SimulatedExchange
from ._exchange import demo_credentials as demo_credentials
from ._exchange import open_simulated_exchange as open_simulated_exchange
from ._servers.faults import GARBAGE_FRAMES as GARBAGE_FRAMES
from ._servers.faults import FaultState as FaultState
from ._servers.recorder import ConnectionRecord as ConnectionRecord
from ._servers.recorder import Recorder as Recorder
from ._servers.recorder import RestRequestRecord as RestRequestRecord
from ._servers.recorder import WsFrameRecord as WsFrameRecord
from ._servers.replay import Replay as Replay
from ._servers.ws import ConnectionInfo as ConnectionInfo

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "DEFAULT_SYMBOLS",
    "GARBAGE_FRAMES",
    "INSTRUMENT_CATALOGUE",
    "Account",
    "ConnectionInfo",
    "ConnectionRecord",
    "ExchangeEngine",
    "FaultState",
    "Instrument",
    "RecordedFrame",
    "RecordedResponse",
    "Recorder",
    "Recording",
    "Replay",
    "RestRequestRecord",
    "SimulatedError",
    "SimulatedExchange",
    "WsFrameRecord",
    "demo_credentials",
    "load_recording",
    "open_simulated_exchange",
    "serve_sim",
]


def _fixup_module_metadata(namespace: dict[str, object]) -> None:
    for name in __all__:
        obj = namespace[name]
        if getattr(obj, "__module__", "").startswith(
            ("bitunix_trio.testing._", "bitunix_trio._stream.recording")
        ):
            try:
                obj.__module__ = __name__
            except (AttributeError, TypeError):  # pragma: no cover - constants
                pass


_fixup_module_metadata(globals())
del _fixup_module_metadata
