"""Threads for real: many emitters at once while clients drop and restore, on every store.

python-socketio's threaded server runs each handler on a thread of its own,
and an app emits from its own threads too. Here several threads emit from
outside any handler, clients relay messages through a handler (so handler
threads emit as well), and meanwhile every client drops and comes back again
and again. Each client must end with every message exactly once, each sender's
messages in the order sent, every reconnection recovered, and no sid restored
twice (one live connection per sid at the end, one recovered connect per drop).
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
import socketio

import chatlib
import chatlib.sync
from chatlib.stores.sqlite import SQLiteStore
from tests.sync.support import wait_until

EMITTERS = 4
PER_EMITTER = 150
CLIENTS = 6
RELAYS_PER_CLIENT = 20
DROPS_PER_CLIENT = 3
EVENT = "chat message"


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    recovery = chatlib.Recovery(max_disconnection_duration=60)
    if request.param == "memory":
        made = chatlib.MemoryStore(recovery)
    elif request.param == "sqlite":
        made = SQLiteStore(str(tmp_path / "stress.db"), recovery)
    else:
        from chatlib.stores.redis import RedisStore
        server = request.getfixturevalue("redis_server")
        made = RedisStore(server.url, recovery, prefix=request.getfixturevalue("redis_prefix"))
    yield made
    close = getattr(made, "close", None)
    if close is not None:
        close()


def session_kept(sio, sid: str) -> bool:
    with sio.router.lock:  # the store is read as the server reads it: under its lock
        rows = sio.store.sessions()
    return any(row["sid"] == sid and not row["connected"] for row in rows)


def test_concurrent_emits_drops_and_restores_lose_and_repeat_nothing(serve_wsgi, store):
    sio = chatlib.sync.RecoveryServer(async_mode="threading", store=store,
                                      recovery=chatlib.Recovery(max_disconnection_duration=60))
    connects: list[tuple[str, bool]] = []
    connects_lock = threading.Lock()

    @sio.event
    def connect(sid, environ, auth=None):
        with connects_lock:
            connects.append((sid, sio.recovered(sid)))

    @sio.on("relay")
    def relay(sid, text):
        sio.emit(EVENT, text)

    served = serve_wsgi(socketio.WSGIApp(sio))
    clients = []
    inboxes: list[list[str]] = []
    for _ in range(CLIENTS):
        client = chatlib.sync.RecoveryClient()
        inbox: list[str] = []
        client.on(EVENT, inbox.append)
        client.connect(served.url, transports=["websocket"])
        clients.append(client)
        inboxes.append(inbox)
    sids = [client.get_sid() for client in clients]
    start = threading.Event()
    failures: list[BaseException] = []

    def emitter(number: int) -> None:
        start.wait()
        for k in range(PER_EMITTER):
            sio.emit(EVENT, f"e{number}-{k}")

    def restless(index: int) -> None:
        client = clients[index]
        chance = random.Random(index)
        start.wait()
        try:
            relayed = 0
            for _ in range(DROPS_PER_CLIENT):
                for _ in range(RELAYS_PER_CLIENT // DROPS_PER_CLIENT):
                    client.call("relay", f"c{index}-{relayed}")
                    relayed += 1
                client.drop()
                wait_until(lambda: session_kept(sio, sids[index]), 10,
                           f"the server to keep client {index}'s session")
                threading.Event().wait(chance.uniform(0, 0.05))
                client.reconnect()
                assert client.recovered, f"client {index} was not recovered"
            while relayed < RELAYS_PER_CLIENT:
                client.call("relay", f"c{index}-{relayed}")
                relayed += 1
        except BaseException as error:  # reported below, with the client's number
            failures.append(error)

    threads = [threading.Thread(target=emitter, args=(n,)) for n in range(EMITTERS)]
    threads += [threading.Thread(target=restless, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(120)
    try:
        assert not failures, failures
        expected = EMITTERS * PER_EMITTER + CLIENTS * RELAYS_PER_CLIENT
        for index, inbox in enumerate(inboxes):
            wait_until(lambda inbox=inbox: len(inbox) >= expected, 30,
                       f"client {index}: {expected} messages, has {len(inbox)}")
        for index, inbox in enumerate(inboxes):
            counts = Counter(inbox)
            repeated = {text: n for text, n in counts.items() if n > 1}
            assert not repeated, f"client {index} got these more than once: {repeated}"
            for number in range(EMITTERS):
                mine = [text for text in inbox if text.startswith(f"e{number}-")]
                assert mine == [f"e{number}-{k}" for k in range(PER_EMITTER)], (
                    f"client {index}: emitter {number}'s messages lost or out of order")
            for other in range(CLIENTS):
                relayed = [text for text in inbox if text.startswith(f"c{other}-")]
                assert sorted(relayed, key=lambda t: int(t.split("-")[1])) == relayed
                assert len(relayed) == RELAYS_PER_CLIENT, f"client {index} lost relays of {other}"
        recovered_connects = Counter(sid for sid, recovered in connects if recovered)
        assert recovered_connects == {sid: DROPS_PER_CLIENT for sid in sids}
        assert all(client.get_sid() == sid for client, sid in zip(clients, sids, strict=True))
        live = [row["sid"] for row in store.sessions() if row["connected"]]
        assert sorted(live) == sorted(sids)
    finally:
        for client in clients:
            client.disconnect()
        sio.shutdown()
