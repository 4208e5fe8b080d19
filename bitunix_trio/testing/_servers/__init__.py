"""The simulated exchange's servers over the engine: ``ws`` (the WebSocket server), ``rest``
(the REST app), ``faults`` (injected failures), ``recorder`` (what crossed the wire) and
``replay`` (serving a recording back).
"""
