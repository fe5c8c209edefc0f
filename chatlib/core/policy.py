"""The recovery policy: how long and how much a server keeps for dropped clients."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Recovery:
    """Turn on connection state recovery and set its limits.

    ``max_disconnection_duration`` (seconds) is how long a dropped client's
    session and the packets it may have missed are kept, as in the JS
    server's ``connectionStateRecovery.maxDisconnectionDuration`` (2 minutes
    there too). ``max_buffered_packets`` bounds the packet log besides time:
    when it is full the oldest packet goes first. ``max_kept_sessions`` bounds
    the sessions kept for dropped clients besides time: past it the session
    that dropped longest ago goes first, and its client's next reconnect is a
    new session (``recovered`` false), so a flood of clients that connect and
    vanish cannot grow the server without limit (the JS server has no such
    bound). ``sweep_interval`` is how often the server expires old sessions
    and packets in the background.

    Example::

        >>> from chatlib import Recovery
        >>> Recovery(max_disconnection_duration=30.0).max_buffered_packets
        100000
        >>> Recovery().max_kept_sessions
        10000
    """

    max_disconnection_duration: float = 120.0
    max_buffered_packets: int = 100_000
    max_kept_sessions: int = 10_000
    sweep_interval: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_disconnection_duration)
                and self.max_disconnection_duration > 0):
            raise ValueError("max_disconnection_duration must be a positive number of seconds")
        if not isinstance(self.max_buffered_packets, int) or self.max_buffered_packets < 1:
            raise ValueError("max_buffered_packets must be a positive integer")
        if not isinstance(self.max_kept_sessions, int) or self.max_kept_sessions < 1:
            raise ValueError("max_kept_sessions must be a positive integer")
        if not (math.isfinite(self.sweep_interval) and self.sweep_interval > 0):
            raise ValueError("sweep_interval must be a positive number of seconds")
