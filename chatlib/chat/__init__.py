"""The tutorial's chat app: its server (``index.js``) and its page (``index.html``).

``step7`` is the server of the tutorial's steps 7 and 8 (messages in SQLite, the catch-up).
"""

from .app import (
                  CLIENT_INTEGRITY,
                  CLIENT_PATH,
                  CLIENT_URL,
                  CLIENT_VERSION,
                  ChatApp,
                  create_app,
                  create_chat_io,
)
from .step7 import ChatHistory, ServerOffset, create_step7_app, create_step7_io

__all__ = ["CLIENT_INTEGRITY", "CLIENT_PATH", "CLIENT_URL", "CLIENT_VERSION", "ChatApp", "ChatHistory",
           "ServerOffset", "create_app", "create_chat_io", "create_step7_app", "create_step7_io"]
