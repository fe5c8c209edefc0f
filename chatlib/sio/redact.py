"""Keep private session ids out of log records.

python-engineio logs every packet it sends and receives at INFO when its
logger is on, the CONNECT packets that carry a pid included. This filter
rewrites those records, so a pid never reaches a log at any level.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

#: a ``"pid"`` JSON field: group 1 its name and colon, group 2 its value (escapes kept)
PID_FIELD = re.compile(r'("pid"\s*:\s*)"((?:[^"\\]|\\.)*)"')


def replace_pids(text: str, new_value: Callable[[str], str]) -> str:
    """``text`` with the value of every ``"pid"`` JSON field replaced by ``new_value(value)``.

    Example::

        >>> replace_pids('40{"pid":"s3cret","offset":"1"}', str.upper)
        '40{"pid":"S3CRET","offset":"1"}'
    """
    if '"pid"' not in text:
        return text
    return PID_FIELD.sub(lambda match: f'{match.group(1)}"{new_value(match.group(2))}"', text)


def _redacted(_value: str) -> str:
    return "<redacted>"


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
        if isinstance(record.msg, str):
            record.msg = replace_pids(record.msg, _redacted)
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(replace_pids(arg, _redacted) if isinstance(arg, str) else arg
                                for arg in record.args)
        return True


def redact_pids(logger: logging.Logger | logging.LoggerAdapter[logging.Logger]) -> None:
    """Install one PidRedactor on ``logger`` (again is a no-op).

    A ``logging.LoggerAdapter`` (python-socketio accepts one as ``logger=``)
    gets the filter on the logger it wraps.
    """
    while isinstance(logger, logging.LoggerAdapter):
        logger = logger.logger
    if not hasattr(logger, "addFilter"):
        # python-socketio takes any object as logger=; a pid must never reach a log
        raise TypeError(f"pids are kept out of logs by a logging filter: logger= must be a "
                        f"logging.Logger or LoggerAdapter, not {type(logger).__name__}")
    if not any(isinstance(existing, PidRedactor) for existing in logger.filters):
        logger.addFilter(PidRedactor())
