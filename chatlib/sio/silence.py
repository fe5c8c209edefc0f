"""Silence: a client connection that stops answering, as on a lost Wi-Fi, with nothing closed.

``RecoveryClient.drop()`` closes the WebSocket, so the server notices at once
("transport close"). A real network loss closes nothing: the server goes on
writing, gets no pong to its next Engine.IO ping, and takes the client as
gone only after ``ping_interval + ping_timeout``. ``Silence`` plays that:
while it lasts the client's Engine.IO layer neither sends (no pongs, no
packets) nor handles what arrives (so no event, and no offset, is taken
in), and the client does not reconnect by itself.

This reaches into python-engineio's client through ``compat.silence_engineio``.
"""

from __future__ import annotations

from . import compat
from .client import RecoveryClient


class Silence:
    """Make ``client`` go silent and come back.

    Example::

        silence = Silence(client)
        silence.start()              # the server notices at its ping timeout
        ...
        await silence.end()          # cut what is left of the connection
        await client.reconnect()     # and recover the session
    """

    def __init__(self, client: RecoveryClient) -> None:
        self.client = client
        self._reconnection: bool | None = None

    @property
    def active(self) -> bool:
        """Whether the client is silent now."""
        return self._reconnection is not None

    def start(self) -> None:
        """Stop sending and handling anything (again is a no-op)."""
        if self.active:
            return
        self._reconnection = self.client.reconnection
        self.client.reconnection = False  # a lost network does not come back by itself
        compat.silence_engineio(self.client, True)

    async def end(self) -> None:
        """End the silence: a connection the server has not given up yet is cut (no DISCONNECT)."""
        if not self.active:
            return
        try:
            if self.client.eio.state == "connected":
                await self.client.drop()
        finally:
            compat.silence_engineio(self.client, False)
            self.client.reconnection = bool(self._reconnection)
            self._reconnection = None
