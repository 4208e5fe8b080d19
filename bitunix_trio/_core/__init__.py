"""The sans-I/O core: everything that decides, nothing that waits.

Imports only the standard library and msgspec (a pure codec), never Trio, a socket, a
clock or a random source: time and randomness are arguments. Values and enums
(``models``, ``enums``, ``numbers``), channel specs (``channels``), the codecs (``frames``:
WebSocket frames both ways, market pushes through typed decoders; ``wire``: push data by
the general path; ``rest_wire``: REST rows), the connection protocol (``protocol``,
``events``, ``budget``), the subscription table (``subscriptions``), the account ledger
(``ledger``), fills (``fills``), closed candles (``candles``), backoff, signing,
credentials, config, the error tree (``errors``) and the one logger (``log``). The
import-linter contracts in ``pyproject.toml`` keep it so.
"""
