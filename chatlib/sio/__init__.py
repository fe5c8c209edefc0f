"""The Socket.IO integration: python-socketio's server, manager and client with recovery.

The only package that touches python-socketio and python-engineio; every
private name of theirs it uses goes through ``compat``. ``RecoveryClient``
needs aiohttp (``pip install "chatlib[asyncio-client]"``) and is imported on
first use.
"""

from typing import TYPE_CHECKING, Any

from .._extras import require
from .delivery import DeliveryError
from .server import RecoveryServer

if TYPE_CHECKING:
    from .client import RecoveryClient

__all__ = ["DeliveryError", "RecoveryClient", "RecoveryServer"]


def __getattr__(name: str) -> Any:
    if name == "RecoveryClient":
        require("chatlib.RecoveryClient", "asyncio-client")
        from .client import RecoveryClient
        return RecoveryClient
    raise AttributeError(f"module 'chatlib.sio' has no attribute {name!r}")
