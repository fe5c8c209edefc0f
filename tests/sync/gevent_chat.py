"""The Flask-SocketIO chat example on gevent (monkey-patched), for test_async_modes.py.

    python tests/sync/gevent_chat.py     # prints {"port": P} once it listens on 127.0.0.1
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402

from gevent.pywsgi import WSGIServer  # noqa: E402

from chatlib.chat.flask_app import create_flask_app  # noqa: E402

app = create_flask_app(async_mode="gevent")
server = WSGIServer(("127.0.0.1", 0), app, log=None)
server.start()
print(json.dumps({"port": server.server_port}), flush=True)
server.serve_forever()
