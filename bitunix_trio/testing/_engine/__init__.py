"""The simulated exchange's engine: pure (no Trio, no socket, no clock of its own).

``engine`` (``ExchangeEngine``: market views, trading, accounts), ``market`` (instruments and
their simulated markets), ``matching`` (order and position state), ``trading``, ``tpsl``,
``account``, ``views`` and ``rows`` (values and REST rows in the exchange's shapes).
"""
