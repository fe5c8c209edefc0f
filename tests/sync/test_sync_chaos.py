"""Chaos on the threaded server: threaded RecoveryClients under a seeded schedule of faults while
a producer thread broadcasts numbered messages. Every client must receive every message exactly
once and in order, and every reconnection must be a recovery.

The fault kinds of tests/reliability/test_chaos.py that the threaded client can play:

- ``client_abort``: the client's transport goes away (``drop()``), then it reconnects;
- ``server_close``: the server closes that client's Engine.IO socket abruptly; the client's
  own reconnection (python-socketio's) brings it back;
- ``double``: two client aborts in a row, the second right after the first recovery;
- ``mid_replay``: an abort, a wait while messages pile up, a reconnection aborted again
  after some of the replayed messages, then a last reconnection.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import socketio

import chatlib
import chatlib.sync
from chatlib.sio import compat
from tests.sync.support import wait_until

SEED = 20261203
CLIENTS = 8
MESSAGES = 1500
FAULTS = 16
KINDS = ("client_abort", "server_close", "double", "mid_replay")
ROOM = "chaos"
BACKLOG = 100  # messages to let pile up before a mid-replay reconnection


class Participant:
    def __init__(self, index: int, url: str) -> None:
        self.index = index
        self.url = url
        self.got: list[int] = []
        self.busy = threading.Lock()
        self.client = chatlib.sync.RecoveryClient(reconnection_delay=0.05,
                                                  reconnection_delay_max=0.2)
        self.cut_after: int | None = None
        self.cut = threading.Event()
        self.client.on("n", self._on_n)

    def _on_n(self, number: int) -> None:
        self.got.append(number)
        if self.cut_after is not None and len(self.got) >= self.cut_after:
            self.cut_after = None
            self.cut.set()

    def start(self) -> None:
        self.client.connect(self.url, transports=["websocket"])
        self.sid = self.client.get_sid()

    def back(self) -> None:
        assert self.client.recovered, f"client {self.index} was not recovered"
        assert self.client.get_sid() == self.sid


def kept(sio, sid: str) -> bool:
    with sio.router.lock:  # the store is read as the server reads it: under its lock
        rows = sio.store.sessions()
    return any(row["sid"] == sid and not row["connected"] for row in rows)


def test_every_threaded_client_gets_every_message_once_and_in_order_through_chaos(serve_wsgi):
    sio = chatlib.sync.RecoveryServer(async_mode="threading",
                                      recovery=chatlib.Recovery(max_disconnection_duration=30))
    connects: list[tuple[str, bool]] = []

    @sio.event
    def connect(sid, environ, auth=None):
        connects.append((sid, sio.recovered(sid)))
        if not sio.recovered(sid):
            sio.enter_room(sid, ROOM)

    served = serve_wsgi(socketio.WSGIApp(sio))
    people = [Participant(i, served.url) for i in range(CLIENTS)]
    for person in people:
        person.start()
    rng = random.Random(SEED)
    kinds = list(KINDS) * (FAULTS // len(KINDS))
    rng.shuffle(kinds)
    spots = sorted(rng.randrange(MESSAGES // 50, MESSAGES * 8 // 10) for _ in kinds)
    schedule = {at: (kind, rng.randrange(CLIENTS)) for at, kind in zip(spots, kinds, strict=True)}
    sent = [0]
    failures: list[BaseException] = []
    faults_done: Counter = Counter()

    def drop_and_back(person: Participant) -> None:
        person.client.drop()
        wait_until(lambda: kept(sio, person.sid), 10, f"client {person.index} kept")
        person.client.reconnect()
        person.back()

    def run_fault(kind: str, person: Participant) -> None:
        if not person.busy.acquire(blocking=False):
            return  # a fault on this client is under way: skip this one
        try:
            if kind == "client_abort":
                drop_and_back(person)
            elif kind == "double":
                drop_and_back(person)
                drop_and_back(person)
            elif kind == "server_close":
                eio_sid = sio.manager.eio_sid_from_sid(person.sid, "/")
                connected = len(connects)
                compat.cut_transport_sync(sio, eio_sid)
                wait_until(lambda: any(sid == person.sid and recovered
                                       for sid, recovered in connects[connected:]), 20,
                           f"client {person.index} to come back by itself")
                wait_until(lambda: person.client.connected, 10, "the client's own view")
                person.back()
            elif kind == "mid_replay":
                person.client.drop()
                wait_until(lambda: kept(sio, person.sid), 10, f"client {person.index} kept")
                start = sent[0]
                wait_until(lambda: sent[0] >= min(start + BACKLOG, MESSAGES), 20, "a backlog")
                person.cut.clear()
                person.cut_after = len(person.got) + rng.randrange(1, BACKLOG // 2)
                person.client.reconnect()
                person.back()
                if person.cut.wait(10):
                    drop_and_back(person)
            faults_done[kind] += 1
        except BaseException as error:  # reported by the test, with the client
            failures.append(AssertionError(f"{kind} on client {person.index}: {error!r}"))
        finally:
            person.busy.release()

    fault_threads: list[threading.Thread] = []
    for number in range(MESSAGES):
        sio.emit("n", number, to=ROOM)
        sent[0] = number + 1
        if number in schedule:
            kind, index = schedule[number]
            thread = threading.Thread(target=run_fault, args=(kind, people[index]))
            thread.start()
            fault_threads.append(thread)
        threading.Event().wait(0.002)
    try:
        for thread in fault_threads:
            thread.join(60)
        assert not failures, failures
        assert sum(faults_done.values()) >= FAULTS // 2, faults_done
        for person in people:
            wait_until(lambda person=person: len(person.got) >= MESSAGES, 30,
                       f"client {person.index}: {MESSAGES} messages")
            repeated = [n for n, count in Counter(person.got).items() if count > 1]
            assert not repeated, f"client {person.index} got these twice: {repeated[:10]}"
            assert person.got == list(range(MESSAGES)), f"client {person.index}: out of order"
        assert all(recovered for sid, recovered in connects[CLIENTS:]), "a reconnection was new"
        print(f"sync chaos: {dict(faults_done)} faults, {len(connects) - CLIENTS} recoveries")
    finally:
        for person in people:
            person.client.disconnect()
        sio.shutdown()
