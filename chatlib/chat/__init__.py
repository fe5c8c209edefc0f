"""The tutorial's chat app: its server (``index.js``) and its page (``index.html``)."""

from .app import CLIENT_INTEGRITY, CLIENT_URL, CLIENT_VERSION, ChatApp, create_app, create_chat_io

__all__ = ["CLIENT_INTEGRITY", "CLIENT_URL", "CLIENT_VERSION", "ChatApp", "create_app",
           "create_chat_io"]
