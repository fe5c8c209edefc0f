// A socket.io-client 4.8 client driven by the Python interop tests.
//
//   node client.js URL [OPTIONS_JSON]
//
// OPTIONS_JSON is passed to io() (e.g. {"transports": ["websocket"]}); "parser": "msgpack" there
// means socket.io-msgpack-parser (python-socketio's serializer="msgpack"). Reports, one JSON per line:
//   {"type": "connect", "id", "recovered", "transport"}   {"type": "disconnect", "reason"}
//   {"type": "event", "event", "args"}  (args as the JS handler gets them: offset included)
//   {"type": "connect_error", "message"}  {"type": "reconnect_attempt", "attempt"}
// Commands (JSON lines on stdin), answered by {"type": "done", "seq"} when they took effect:
//   drop        the network fails: engine.close(), automatic reconnection paused until "reconnect"
//   drop-auto   engine.close() and let the Manager reconnect by itself
//   reconnect   resume reconnection: the socket connects again with its pid and last offset
//   disconnect  socket.disconnect(): a clean disconnect, not recoverable
//   connect     socket.connect()
//   emit        {"event", "args"}
//   set-auth    {"auth"}: socket.auth = auth, sent in the next CONNECT (the tutorial's
//               step 7 keeps serverOffset there)
//   emit-with-ack {"event", "args"}: socket.emitWithAck(); answers, once settled, with
//               {"ack"} (the server's first ack argument) or {"error"} (e.g. retries exhausted)
// reconnect, connect and disconnect answer with {"connected", "id", "recovered"}.
"use strict";
const { io } = require("socket.io-client");
const { report, serveCommands } = require("./jsonlines");

const [url, optionsJson] = process.argv.slice(2);
if (!url) {
  process.stderr.write("usage: node client.js URL [OPTIONS_JSON]\n");
  process.exit(2);
}
const options = { forceNew: true, ...(optionsJson ? JSON.parse(optionsJson) : {}) };
if (options.parser === "msgpack") options.parser = require("socket.io-msgpack-parser");
const socket = io(url, options);

socket.on("connect", () => {
  report({
    type: "connect", id: socket.id, recovered: Boolean(socket.recovered),
    transport: socket.io.engine.transport.name,
  });
});
socket.on("disconnect", (reason) => report({ type: "disconnect", reason }));
socket.on("connect_error", (err) => report({ type: "connect_error", message: err.message }));
socket.onAny((event, ...args) => report({ type: "event", event, args }));
socket.io.on("reconnect_attempt", (attempt) => report({ type: "reconnect_attempt", attempt }));

function next(event) {
  return new Promise((resolve) => socket.once(event, resolve));
}

function state() {
  return { connected: socket.connected, id: socket.id, recovered: Boolean(socket.recovered) };
}

async function dropEngine() {
  if (!socket.connected) return state();
  const gone = next("disconnect");
  socket.io.engine.close();
  return { reason: await gone };
}

serveCommands({
  drop: async () => {
    socket.io.reconnection(false);
    return dropEngine();
  },
  "drop-auto": dropEngine,
  reconnect: async () => {
    if (socket.connected) return state();
    const back = next("connect");
    socket.io.reconnection(true);
    socket.connect();
    await back;
    return state();
  },
  disconnect: async () => {
    socket.disconnect();
    return state();
  },
  connect: async () => {
    if (socket.connected) return state();
    const back = next("connect");
    socket.connect();
    await back;
    return state();
  },
  emit: async ({ event, args }) => {
    socket.emit(event, ...(args || []));
  },
  "set-auth": async ({ auth }) => {
    socket.auth = auth;
  },
  "emit-with-ack": async ({ event, args }) => {
    try {
      return { ack: await socket.emitWithAck(event, ...(args || [])) };
    } catch (err) {
      return { error: err.message };
    }
  },
}, () => {
  socket.disconnect();
  process.exit(0);
});
