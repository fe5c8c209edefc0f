// A socket.io 4.8 server with connection state recovery, driven by the Python interop tests.
//
//   node server.js PORT [OPTIONS_JSON]
//
// Listens on 127.0.0.1:PORT (0: a free port) with connectionStateRecovery: {} unless
// OPTIONS_JSON says otherwise. Reports, one JSON per line:
//   {"type": "listening", "port"}
//   {"type": "connection", "id", "recovered", "rooms"}  {"type": "disconnect", "id", "reason"}
//   {"type": "event", "id", "event", "args"}  (an event a client sent)
// Commands (JSON lines on stdin), answered by {"type": "done", "seq"} when they took effect:
//   emit    {"event", "args", "to"?: room or rooms}
//   emit-binary {"event", "args"}: like emit to everyone, each string arg sent as a Buffer
//   join    {"sid", "room"}: that socket joins the room ({"joined": false} if it is not connected)
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");
const { report, serveCommands } = require("./jsonlines");

const [portArg, optionsJson] = process.argv.slice(2);
const options = { connectionStateRecovery: {}, ...(optionsJson ? JSON.parse(optionsJson) : {}) };
const httpServer = http.createServer();
const io = new Server(httpServer, options);

io.on("connection", (socket) => {
  report({ type: "connection", id: socket.id, recovered: socket.recovered, rooms: [...socket.rooms] });
  socket.on("disconnect", (reason) => report({ type: "disconnect", id: socket.id, reason }));
  socket.onAny((event, ...args) => report({ type: "event", id: socket.id, event, args }));
});

serveCommands({
  emit: async ({ event, args, to }) => {
    const target = to === undefined || to === null ? io : io.to(to);
    target.emit(event, ...(args || []));
  },
  "emit-binary": async ({ event, args }) => {
    io.emit(event, ...(args || []).map((text) => Buffer.from(text)));
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
