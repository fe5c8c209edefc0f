"""Keep private session ids out of log records.

python-engineio logs every packet it sends and receives at INFO when its
logger is on, the CONNECT packets that carry a pid included. This filter
rewrites those records, so a pid never reaches a log at any level.
"""

from __future__ import annotations

import logging
import re
from typing import Union

_PID_FIELD = re.compile(r'("pid"\s*:\s*)"(?:[^"\\]|\\.)*"')
_REDACTED = r'\1"<redacted>"'


class PidRedactor(logging.Filter):
    """A logging filter that replaces the value of every ``"pid"`` JSON field.

    Example::

        >>> import logging
        >>> record = logging.LogRecord("engineio", logging.INFO, "", 0,
        ...     "sent %s", ('0{"sid":"abc","pid":"s3cret"}',), None)
        >>> PidRedactor().filter(record), record.getMessage()
        (True, 'sent 0{"sid":"abc","pid":"<redacted>"}')
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and '"pid"' in record.msg:
            record.msg = _PID_FIELD.sub(_REDACTED, record.msg)
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(_PID_FIELD.sub(_REDACTED, arg)
                                if isinstance(arg, str) and '"pid"' in arg else arg
                                for arg in record.args)
        return True


def redact_pids(logger: Union[logging.Logger, logging.LoggerAdapter]) -> None:
    """Install one PidRedactor on ``logger`` (again is a no-op).

    A ``logging.LoggerAdapter`` (python-socketio accepts one as ``logger=``)
    gets the filter on the logger it wraps.
    """
    while isinstance(logger, logging.LoggerAdapter):
        logger = logger.logger
    if not any(isinstance(existing, PidRedactor) for existing in logger.filters):
        logger.addFilter(PidRedactor())
