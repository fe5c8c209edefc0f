"""The Socket.IO integration: python-socketio's server, manager and client with recovery.

The only package that touches python-socketio and python-engineio; every
private name of theirs it uses goes through ``compat``.
"""

from .client import RecoveryClient
from .delivery import DeliveryError
from .server import RecoveryServer

__all__ = ["DeliveryError", "RecoveryClient", "RecoveryServer"]
