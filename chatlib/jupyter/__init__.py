"""The Jupyter layer: an in-kernel chat server, chat widgets and the offset-buffer view.

Needs ipywidgets (``pip install "chatlib[jupyter]"``)::

    server = await chatlib.start_chat_server()
    alice, bob = chatlib.ChatWidget(server, "Alice"), chatlib.ChatWidget(server, "Bob")
    chatlib.BufferView(server)
"""

from .._extras import require

require("chatlib.jupyter", "jupyter")
