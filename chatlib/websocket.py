"""Moved to :mod:`chatlib.serving` (``chatlib.serving.CoalescingWebSocketProtocol``); kept as an alias.

Example::

    from chatlib.serving import CoalescingWebSocketProtocol
"""

from .serving.websocket import CoalescingWebSocketProtocol

__all__ = ["CoalescingWebSocketProtocol"]
