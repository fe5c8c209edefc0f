// A socket.io-client 4.8 client for the chaos test (tests/reliability/test_chaos.py).
//
//   node chaos_client.js URL[,URL...]
//
// With several URLs (servers sharing a RedisStore) it moves to the next one at every
// reconnection attempt, as a load balancer might send it (the Manager's uri is what its next
// Engine connects to). It connects over WebSocket with fast automatic reconnection, records the number carried by
// every "m" event (the offset, the last argument, is what the JS client keeps for recovery),
// and reports one JSON object per line on stdout:
//   {"type": "connect", "id", "recovered", "uri", "count" (numbers received before it)}   {"type": "disconnect", "reason"}
// Commands, one JSON per line on stdin, answered by {"type": "done", "seq", ...}:
//   drop        the network fails: engine.close(); the Manager reconnects by itself
//   mute        stop answering the server's pings (until this connection ends): a ping timeout
//   arm {after, mute}  after the next connect, once `after` more events arrived: drop again,
//               or with `mute` stop answering pings (a ping timeout in the middle of a replay)
//   state       {connected, id, recovered, count}
//   received    {numbers}: every number received, in arrival order
// The socket.io-client package is the one installed for tests/interop.
"use strict";
const path = require("node:path");
const readline = require("node:readline");
const { io } = require(path.join(__dirname, "..", "interop", "node_modules", "socket.io-client"));

const urls = process.argv[2].split(",");
const socket = io(urls[0], {
  forceNew: true, transports: ["websocket"],
  reconnectionDelay: 50, reconnectionDelayMax: 200, randomizationFactor: 0,
});
let turn = 0;
if (urls.length > 1) {
  socket.io.on("reconnect_attempt", () => {
    turn += 1;
    socket.io.uri = urls[turn % urls.length];
  });
}
const numbers = [];
let armed = null;      // {after, mute}: waiting for the next connect
let countdown = null;  // events left before the armed drop
let muteAtZero = false;

function report(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

socket.on("connect", () => {
  report({ type: "connect", id: socket.id, recovered: Boolean(socket.recovered), uri: socket.io.uri,
           count: numbers.length });
  if (armed !== null) {
    countdown = armed.after;
    muteAtZero = Boolean(armed.mute);
    armed = null;
  }
});
socket.on("disconnect", (reason) => report({ type: "disconnect", reason }));
socket.on("connect_error", (err) => report({ type: "connect_error", message: err.message }));
socket.on("m", (n) => {
  numbers.push(n);
  if (countdown !== null && --countdown <= 0) {
    countdown = null;
    if (muteAtZero) commands.mute();
    else socket.io.engine.close();
  }
});

const commands = {
  drop: () => {
    socket.io.engine.close();
    return {};
  },
  mute: () => {
    const engine = socket.io.engine;
    const send = engine._sendPacket;
    engine._sendPacket = function (type, ...rest) {
      if (type === "pong") return undefined;
      return send.call(this, type, ...rest);
    };
    return {};
  },
  arm: ({ after, mute }) => {
    armed = { after, mute };
    return {};
  },
  state: () => ({ connected: socket.connected, id: socket.id,
                  recovered: Boolean(socket.recovered), count: numbers.length }),
  received: () => ({ numbers }),
};

const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (!line.trim()) return;
  const command = JSON.parse(line);
  const handler = commands[command.cmd];
  if (!handler) {
    report({ type: "error", seq: command.seq, error: `unknown command ${command.cmd}` });
    return;
  }
  report({ ...handler(command), type: "done", seq: command.seq });
});
input.on("close", () => {
  socket.disconnect();
  process.exit(0);
});
