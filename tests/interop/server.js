// A socket.io 4.8 server with connection state recovery, driven by the Python interop tests.
//
//   node server.js PORT [OPTIONS_JSON]
//
// Listens on 127.0.0.1:PORT (0: a free port) with connectionStateRecovery: {} unless
// OPTIONS_JSON says otherwise. Reports, one JSON per line:
//   {"type": "listening", "port"}
//   {"type": "connection", "id", "recovered", "rooms"}  {"type": "disconnect", "id", "reason"}
//   {"type": "event", "id", "event", "args", "acked"}  (an event a client sent; args without
//     its ack function; acked: whether the server answers it now, "late", or false if withheld)
// An event sent with an ack id is acknowledged with "got <first arg>", unless an ack plan says otherwise.
// Commands (JSON lines on stdin), answered by {"type": "done", "seq"} when they took effect:
//   emit    {"event", "args", "to"?: room or rooms}
//   emit-binary {"event", "args"}: like emit to everyone, each string arg sent as a Buffer
//   join    {"sid", "room"}: that socket joins the room ({"joined": false} if it is not connected)
//   ack-plan {"event", "withhold"?: n, "late"?: n, "late_ms"?: ms}: the next n receipts of that event
//           get no ack (withhold), then the next n get theirs only after late_ms (late)
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");
const { report, serveCommands } = require("./jsonlines");

const [portArg, optionsJson] = process.argv.slice(2);
const options = { connectionStateRecovery: {}, ...(optionsJson ? JSON.parse(optionsJson) : {}) };
const httpServer = http.createServer();
const io = new Server(httpServer, options);

const ackPlans = new Map(); // event name -> { withhold, late, lateMs }

// How the server answers one receipt of an event that asked for an ack.
function answer(event, args, ack) {
  const plan = ackPlans.get(event);
  const reply = () => ack(`got ${args[0]}`);
  if (plan && plan.withhold > 0) {
    plan.withhold -= 1;
    return false;
  }
  if (plan && plan.late > 0) {
    plan.late -= 1;
    setTimeout(reply, plan.lateMs);
    return "late";
  }
  reply();
  return true;
}

io.on("connection", (socket) => {
  report({ type: "connection", id: socket.id, recovered: socket.recovered, rooms: [...socket.rooms] });
  socket.on("disconnect", (reason) => report({ type: "disconnect", id: socket.id, reason }));
  socket.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    const acked = ack ? answer(event, args, ack) : false;
    report({ type: "event", id: socket.id, event, args, acked });
  });
});

serveCommands({
  emit: async ({ event, args, to }) => {
    const target = to === undefined || to === null ? io : io.to(to);
    target.emit(event, ...(args || []));
  },
  "emit-binary": async ({ event, args }) => {
    io.emit(event, ...(args || []).map((text) => Buffer.from(text)));
  },
  "ack-plan": async ({ event, withhold, late, late_ms }) => {
    ackPlans.set(event, { withhold: withhold || 0, late: late || 0, lateMs: late_ms || 0 });
  },
  join: async ({ sid, room }) => {
    const socket = io.of("/").sockets.get(sid);
    if (socket) socket.join(room);
    return { joined: Boolean(socket) };
  },
}, () => {
  io.close();
  process.exit(0);
});

httpServer.listen(Number(portArg || 0), "127.0.0.1", () => {
  report({ type: "listening", port: httpServer.address().port });
});
