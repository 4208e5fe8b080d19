"""Scripted faults of the simulated exchange: the switches both servers consult.

The switches live in one :class:`FaultState` shared by the WebSocket server and the REST
app; the methods on :class:`~bitunix_trio.testing.SimulatedExchange` flip them. Everything
is deterministic: a fault applies from the moment it is switched on, in arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GARBAGE_FRAMES", "FaultState"]

#: What :meth:`SimulatedExchange.send_garbage` sends, in turn: non-JSON text, truncated
#: JSON, JSON of the wrong shape, and frames that look like pushes but are not.
GARBAGE_FRAMES: tuple[str, ...] = (
    "this is not json",
    '{"ch":"depth_book15","symbol":"BTCUSDT","ts":17',
    "[1,2,3]",
    '{"ch":"ticker","symbol":"BTCUSDT","ts":"soon","data":"nope"}',
    '{"op":"ping","pong":"x"}',
    "\x00\x01\x02",
    '{"ch":"order","data":{"orderId":null}}',
    "null",
)


@dataclass(slots=True)
class FaultState:
    """The fault switches; see the fault methods of ``SimulatedExchange`` for meanings."""

    #: Sockets stay open but the exchange sends nothing and answers nothing.
    silent: bool = False
    #: JSON pings get no reply (everything else is normal).
    no_pong: bool = False
    #: Every subscribe is answered with the over-300 refusal frame.
    refuse_subscriptions: bool = False
    #: The next this-many logins fail whatever their signature.
    reject_logins: int = 0
    #: Every REST call answers code 10006.
    throttle_rest: bool = False
    #: REST answers HTTP 503 with an HTML body (as a CDN in front of a dead origin does).
    rest_down: bool = False
    #: New WebSocket handshakes are refused with HTTP 503.
    ws_down: bool = False
    #: Depth of nested ``offline()`` blocks; while > 0 the WebSocket side is down.
    offline_depth: int = 0
    #: Index of the next garbage frame (so repeated calls cycle through all of them).
    garbage_index: int = 0

    @property
    def refusing_websockets(self) -> bool:
        """Whether new WebSocket handshakes are refused right now."""
        return self.ws_down or self.offline_depth > 0

    def take_login_rejection(self) -> bool:
        """Consume one scripted login rejection, if any is pending."""
        if self.reject_logins > 0:
            self.reject_logins -= 1
            return True
        return False

    def next_garbage(self) -> str:
        """The next garbage frame in turn."""
        frame = GARBAGE_FRAMES[self.garbage_index % len(GARBAGE_FRAMES)]
        self.garbage_index += 1
        return frame

    def reset(self) -> None:
        """Switch every fault off."""
        self.silent = False
        self.no_pong = False
        self.refuse_subscriptions = False
        self.reject_logins = 0
        self.throttle_rest = False
        self.rest_down = False
        self.ws_down = False
        self.offline_depth = 0
