"""The library's one logger, ``bitunix_trio``.

Every module logs to it; a library leaves output to the application, so without a
configured handler it says nothing.
"""

from __future__ import annotations

import logging

__all__ = ["logger"]

logger = logging.getLogger("bitunix_trio")
logger.addHandler(logging.NullHandler())
