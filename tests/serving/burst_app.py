"""A recovery server for the ways of running it (``uvicorn.run``, the ``uvicorn`` command, gunicorn).

Its ``burst`` handler broadcasts ``count`` stored events and answers how many
deliveries went through python-engineio's per-connection queues instead of
straight onto the WebSocket (``chatlib.sio.direct``).
"""

import socketio

import chatlib

sio = chatlib.RecoveryServer(async_mode="asgi")
queued_sends = [0]
_send_eio_packet = sio._send_eio_packet


async def _counting_send(eio_sid, pkt):
    queued_sends[0] += 1
    await _send_eio_packet(eio_sid, pkt)

sio._send_eio_packet = _counting_send


@sio.on("burst")
async def burst(sid, count):
    queued_sends[0] = 0
    for i in range(count):
        await sio.emit("m", i)
    return queued_sends[0]


app = socketio.ASGIApp(sio)
