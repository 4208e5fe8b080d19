"""The Trio shell of the WebSocket side.

``open`` (``open_bitunix_stream``) builds a ``stream`` (the handle: subscriptions, routing,
state) over a ``supervisor`` (what a running stream is) whose ``pool`` of ``connection`` s
each run one sans-I/O protocol over a socket from a ``connector`` (the one place that
touches a WebSocket library; ``websockets_connector`` is the other transport). Subscribers
read a ``channel`` (``candles``: kline channels with closed candles; ``account``: account
channels that start from a snapshot; ``fills``: the fills feed; ``merged``: one channel
for many specs).
``errors``: the errors that are also Trio's channel errors, and how a nursery's group
becomes one exception. ``recording``: a connector and an httpx transport that record what
arrives.
"""
