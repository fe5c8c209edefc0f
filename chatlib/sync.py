"""Connection state recovery for python-socketio's threaded ``Server`` and ``Client``.

python-socketio names its flavours ``Server``/``AsyncServer``; chatlib's
asyncio classes took the plain names first (``chatlib.RecoveryServer``), so
the threaded ones keep the same names in a package of their own, as
``websockets.sync`` beside ``websockets.asyncio``. Same arguments, same wire,
same store contract; handlers run on threads (or eventlet / gevent greenlets).

Example::

    import chatlib, chatlib.sync, socketio
    sio = chatlib.sync.RecoveryServer(recovery=chatlib.Recovery(max_disconnection_duration=60))
    app = socketio.WSGIApp(sio)

    client = chatlib.sync.RecoveryClient(retries=3, ack_timeout=2.0)

Flask-SocketIO apps use ``chatlib.flask.SocketIO``.
"""

from .sio.delivery import DeliveryError
from .sio.sync_client import RecoveryClient
from .sio.sync_server import RecoveryServer

__all__ = ["DeliveryError", "RecoveryClient", "RecoveryServer"]
