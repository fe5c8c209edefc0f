// The reference: a socket.io 4.8 server with connection state recovery, for the load generator.
//   node servers/node_server.js                  -> prints {"port": P} once it listens on 127.0.0.1
//   node servers/node_server.js --redis URL      -> the same on @socket.io/redis-streams-adapter
"use strict";
const http = require("http");
const { Server } = require("socket.io");
const { StallTicker } = require("../lib/stall");

const EVENT = "chat message";
const redisAt = process.argv.indexOf("--redis");
const redisUrl = redisAt > 0 ? process.argv[redisAt + 1] : null;
const httpServer = http.createServer();
const ioServer = new Server(httpServer, { connectionStateRecovery: {}, transports: ["websocket"] });
const ticker = new StallTicker();
let redisClient = null;

ioServer.on("connection", (socket) => {
  socket.on("go", (m) => {
    for (let i = 0; i < m; i++) ioServer.emit(EVENT, "message " + i);
  });
  socket.on("miss", (m, ack) => {
    for (let i = 0; i < m; i++) ioServer.emit(EVENT, "missed " + i);
    if (ack) ack(null);
  });
  socket.on("fill", (m, ack) => {
    for (let i = 0; i < m; i++) ioServer.to("nobody").emit(EVENT, "stored " + i);
    if (ack) ack(null);
  });
  socket.on("stall", (_, ack) => ack(ticker.take()));
  socket.on("stats", async (_, ack) => {
    const adapter = ioServer.of("/").adapter;
    let kept = 0, packets = 0;
    if (redisClient) {
      // the redis-streams adapter keeps sessions as keys and packets in its stream
      kept = (await redisClient.keys("sio:session:*")).length;
      packets = await redisClient.xLen("socket.io");
    } else {
      adapter.sessions.forEach(() => kept++);
      packets = adapter.packets.length;
    }
    ack({ packets, kept_sessions: kept, clients: ioServer.engine.clientsCount,
          cpu_s: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
          rss_bytes: process.memoryUsage().rss });
  });
});

async function main() {
  if (redisUrl) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-streams-adapter");
    redisClient = createClient({ url: redisUrl });
    await redisClient.connect();
    ioServer.adapter(createAdapter(redisClient));
  }
  httpServer.listen(0, "127.0.0.1", () => {
    console.log(JSON.stringify({ port: httpServer.address().port }));
  });
}

main();
