// The JS reference's SessionAwareAdapter (socket.io-adapter, as socket.io 4.8.4 uses it), without I/O.
//
//   node adapter_bench.js restore --sizes 1000,10000,100000,1000000 --missed 10 --restores 200
//   node adapter_bench.js restore --behind true ...   (offset behind the buffer, as store_bench.py)
//   node --expose-gc adapter_bench.js memory --packets 100000
//
// Prints one JSON line. Packets go in through adapter.broadcast, as io.emit("chat message", "m<i>")
// puts them there (a fresh BroadcastOperator: new rooms and except sets per emit), with the real
// socket.io-parser encoder.
"use strict";
const { SessionAwareAdapter } = require("socket.io-adapter");
const { Encoder } = require("socket.io-parser");

function parseArgs(argv) {
  const args = { what: argv[0], sizes: "1000,10000,100000,1000000", missed: "10", restores: "200", rounds: "7", packets: "100000" };
  for (let i = 1; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];
  return args;
}

function makeAdapter() {
  const nsp = {
    name: "/",
    sockets: new Map(),
    server: {
      opts: { connectionStateRecovery: { maxDisconnectionDuration: 120000 } },
      encoder: new Encoder(),
      _opts: {},
    },
  };
  return new SessionAwareAdapter(nsp);
}

function broadcast(adapter, i, rooms = []) {
  adapter.broadcast({ type: 2, data: ["chat message", "m" + i], nsp: "/" },
    { rooms: new Set(rooms), except: new Set(), flags: {} });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function restore(args) {
  const missed = Number(args.missed), restores = Number(args.restores), rounds = Number(args.rounds);
  const rows = [];
  for (const size of args.sizes.split(",").map(Number)) {
    const adapter = makeAdapter();
    let offset;
    if (args.behind === "true") {
      // the offset is the oldest packet; then packets for a room the client is not in; then the missed
      broadcast(adapter, 0);
      for (let i = 1; i < size - missed; i++) broadcast(adapter, i, ["elsewhere"]);
      for (let i = size - missed; i < size; i++) broadcast(adapter, i);
      offset = adapter.packets[0].id;
    } else {
      for (let i = 0; i < size; i++) broadcast(adapter, i);
      offset = adapter.packets[size - missed - 1].id;
    }
    // fewer restores per round where one takes milliseconds, so that a run stays short
    const count = Math.min(restores, Math.max(10, Math.round(2e7 / size)));
    const perRound = [];
    for (let r = 0; r < rounds; r++) {
      const pids = [];
      for (let k = 0; k < count; k++) {
        const pid = `p${r}-${k}`;
        pids.push(pid);
        adapter.persistSession({ sid: `s${r}-${k}`, pid, rooms: [`s${r}-${k}`], data: {} });
      }
      let result = null;
      const t0 = process.hrtime.bigint();
      for (const pid of pids) result = adapter.restoreSession(pid, offset);
      const ns = Number(process.hrtime.bigint() - t0);
      const restored = await result;
      if (!restored || restored.missedPackets.length !== missed) throw new Error("restore failed");
      perRound.push(ns / count / 1000);
      for (const pid of pids) adapter.sessions.delete(pid);
    }
    rows.push({ buffered: adapter.packets.length, missed, restores_per_round: count, restore_us: median(perRound), rounds_us: perRound });
  }
  return rows;
}

function memory(args) {
  if (typeof global.gc !== "function") throw new Error("run with node --expose-gc");
  const packets = Number(args.packets);
  const adapter = makeAdapter();
  broadcast(adapter, -1); // warm the code paths before measuring
  adapter.packets = [];
  global.gc(); global.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < packets; i++) broadcast(adapter, i);
  global.gc(); global.gc();
  const after = process.memoryUsage().heapUsed;
  if (adapter.packets.length !== packets) throw new Error("not all stored");
  return { packets, method: "process.memoryUsage().heapUsed delta after gc (--expose-gc)",
           bytes_per_packet: (after - before) / packets };
}

const args = parseArgs(process.argv.slice(2));
Promise.resolve(args.what === "memory" ? memory(args) : restore(args)).then((out) => {
  console.log(JSON.stringify(out));
  process.exit(0);
}, (err) => { console.error(err && err.stack || err); process.exit(1); });
