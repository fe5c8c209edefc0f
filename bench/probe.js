// One client per server in a process of its own, for loadgen.js: when did its first packet of a
// broadcast arrive? The load generator's own clients share one busy process, so their first
// packet waits behind the other clients' backlogs; this probe's does not. It connects last, so
// it is the last recipient its server writes to.
//   (forked by loadgen.js with the server URLs as arguments; talks over IPC)
"use strict";
const { io } = require("socket.io-client");

const wallMs = () => performance.timeOrigin + performance.now();
const sockets = process.argv.slice(2).map((url) =>
  io(url, { transports: ["websocket"], forceNew: true, reconnection: false }));
let prefix = null;
let first = sockets.map(() => null);
sockets.forEach((s, k) => s.on("chat message", (text) => {
  if (prefix !== null && first[k] === null && text.startsWith(prefix)) first[k] = wallMs();
}));
Promise.all(sockets.map((s) => new Promise((resolve) => s.once("connect", resolve))))
  .then(() => process.send({ ready: true }));
process.on("message", (msg) => {
  if (msg.watch !== undefined) { prefix = msg.watch; first = sockets.map(() => null); process.send({ watching: true }); }
  if (msg.report) process.send({ first });
  // a clean disconnect (no session kept), then the process ends once it is written
  if (msg.stop) { sockets.forEach((s) => s.disconnect()); process.disconnect(); }
});
