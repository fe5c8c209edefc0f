// The reference: a socket.io 4.8 server with connection state recovery, for the load generator.
//   node servers/node_server.js   -> prints {"port": P} once it listens on 127.0.0.1
"use strict";
const http = require("http");
const { Server } = require("socket.io");
const { StallTicker } = require("../lib/stall");

const EVENT = "chat message";
const httpServer = http.createServer();
const ioServer = new Server(httpServer, { connectionStateRecovery: {}, transports: ["websocket"] });
const ticker = new StallTicker();

ioServer.on("connection", (socket) => {
  socket.on("go", (m) => {
    for (let i = 0; i < m; i++) ioServer.emit(EVENT, "message " + i);
  });
  socket.on("miss", (m, ack) => {
    for (let i = 0; i < m; i++) ioServer.emit(EVENT, "missed " + i);
    ack(null);
  });
  socket.on("fill", (m, ack) => {
    for (let i = 0; i < m; i++) ioServer.to("nobody").emit(EVENT, "stored " + i);
    ack(null);
  });
  socket.on("stall", (_, ack) => ack({ max_ms: ticker.takeMax() }));
  socket.on("stats", (_, ack) => {
    const adapter = ioServer.of("/").adapter;
    let kept = 0;
    adapter.sessions.forEach(() => kept++);
    ack({ packets: adapter.packets.length, kept_sessions: kept, clients: ioServer.engine.clientsCount,
          cpu_s: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 });
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
