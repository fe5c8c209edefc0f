"""A recovery server made of the installed chatlib wheel only, for .ci/wheel_check.

Serves the README's way (chatlib.serving.serve, uvicorn on a free port of 127.0.0.1),
prints ``{"url": ..., "chatlib": <where it was imported from>}`` once it accepts, and
stops when its stdin closes. Events: "chat message" (text) is broadcast to everyone and
acknowledged; "connected?" (sid) answers whether that connection is up.
"""

import asyncio
import json
import sys

import socketio

import chatlib
from chatlib.serving import serve


async def main() -> None:
    sio = chatlib.RecoveryServer(async_mode="asgi", recovery=chatlib.Recovery())

    @sio.on("chat message")
    async def chat_message(sid: str, text: str) -> str:
        await sio.emit("chat message", text)
        return "sent"

    @sio.on("connected?")
    async def connected(sid: str, other: str) -> bool:
        return sio.manager.is_connected(other, "/")

    running = await serve(socketio.ASGIApp(sio))
    print(json.dumps({"url": running.url, "chatlib": chatlib.__file__}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await sio.shutdown()
    await running.stop()


asyncio.run(main())
