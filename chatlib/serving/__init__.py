"""Serving: what runs chatlib's servers, and the WebSocket send path under them.

The one package that imports uvicorn (``import chatlib`` does not). Its
parts:

- :func:`serve` runs an ASGI app with uvicorn on the running loop (a
  notebook's, a test's) and returns a :class:`RunningServer`;
- :class:`CoalescingWebSocketProtocol` and the adapters
  (``chatlib.serving.adapters``) give ``chatlib.sio`` a frame writer on
  uvicorn's WebSocket connections: a stored broadcast is framed once and
  written to every recipient, with one ``send()`` per connection per loop
  pass, however uvicorn was started;
- ``chatlib.serving.worker.UvicornWorker``, a gunicorn worker with the
  settings chatlib wants (needs the ``uvicorn-worker`` package);
- ``chatlib.serving.compat``, every uvicorn internal used, in one checked table.

Example::

    from chatlib.serving import serve

    running = await serve(app)      # a free port on 127.0.0.1
    print(running.url)
    await running.stop()
"""

from . import adapters as _adapters  # noqa: F401  (registers the frame writers of uvicorn's connections)
from .server import RunningServer, serve
from .websocket import CoalescingWebSocketProtocol

__all__ = ["CoalescingWebSocketProtocol", "RunningServer", "serve"]
