// The one load generator every server is measured with: N socket.io-client sockets, websocket only.
//
//   node loadgen.js throughput --url http://127.0.0.1:PORT --clients 200 --messages 2000
//   node loadgen.js storm      --url http://127.0.0.1:PORT --clients 500 --buffered 50000 --missed 10
//   node loadgen.js paths      --url URL1 [--url2 URL2] --clients 40 --messages 1000 [--missed 10]
//   node loadgen.js crowd      --url http://127.0.0.1:PORT --clients 10000 --drop 3000 --missed 10
//
// Prints one JSON line with the measurement. Talks to the servers in bench/servers/ through
// these events: "go" (broadcast M messages to everyone), "fill" (store packets for an empty
// room), "miss" (broadcast while the clients are away), "stall" (longest event-loop stall since
// the last "stall", then reset) and "stats" (what the server buffers and keeps).
"use strict";
const { io } = require("socket.io-client");
const { fork } = require("child_process");
const path = require("path");

function parseArgs(argv) {
  const args = { mode: argv[0] };
  for (let i = 1; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];
  return args;
}

const EVENT = "chat message";
const now = () => Number(process.hrtime.bigint()) / 1e6; // milliseconds

function open(url, extra = {}) {
  return io(url, { transports: ["websocket"], forceNew: true, reconnection: false, ...extra });
}

function whenAll(sockets, event) {
  return Promise.all(sockets.map((s) => new Promise((resolve, reject) => {
    s.once(event, resolve);
    s.once("connect_error", reject);
  })));
}

function ask(socket, event, arg, timeoutMs = 600000) {
  return socket.timeout(timeoutMs).emitWithAck(event, arg);
}

async function connectAll(url, n, batch = 50) {
  const sockets = [];
  // in batches, so that connecting is not itself a storm
  for (let i = 0; i < n; i += batch) {
    const part = [];
    for (let j = i; j < Math.min(n, i + batch); j++) part.push(open(url));
    await whenAll(part, "connect");
    sockets.push(...part);
  }
  return sockets;
}

function cpuMs(start) {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

async function throughput(args) {
  const n = Number(args.clients), m = Number(args.messages), warm = Number(args.warmup || 100);
  const deadlineMs = Number(args.deadline || 120) * 1000;
  const sockets = await connectAll(args.url, n);
  const control = sockets[0];

  // received[i]: how many EVENT packets client i has had in the current round
  let received = new Array(n).fill(0);
  let target = 0, left = 0, resolveDone = null, firstDone = null, t0 = 0;
  sockets.forEach((s, i) => s.on(EVENT, () => {
    if (++received[i] === target) {
      if (firstDone === null) firstDone = now() - t0;
      if (--left === 0) resolveDone(now());
    }
  }));
  async function round(count) {
    received.fill(0);
    target = count; left = n; firstDone = null;
    const done = new Promise((r) => { resolveDone = r; });
    t0 = now();
    control.emit("go", count);
    // a server that loses clients (say to a ping timeout behind its backlog) never finishes
    const t1 = await Promise.race([done, sleep(deadlineMs).then(() => null)]);
    if (t1 === null) {
      const short = received.filter((c) => c < count).length;
      throw new Error(`${short} of ${n} clients still short of ${count} after ${deadlineMs} ms`);
    }
    return t1 - t0;
  }
  await round(warm);
  await ask(control, "stall", null);
  const serverCpu0 = (await ask(control, "stats", null)).cpu_s;
  const cpu0 = process.cpuUsage();
  const wall0 = now();
  const ms = await round(m);
  const genCpu = cpuMs(cpu0) / (now() - wall0);
  const stall = await ask(control, "stall", null);
  const stats = await ask(control, "stats", null);
  sockets.forEach((s) => s.disconnect());
  return {
    clients: n, messages: m, deliveries: n * m, seconds: ms / 1000,
    deliveries_per_s: (n * m) / (ms / 1000), first_client_done_s: firstDone / 1000,
    generator_cpu_share: genCpu, server_cpu_share: (stats.cpu_s - serverCpu0) / (ms / 1000),
    server_max_stall_ms: stall.max_ms, server: stats,
  };
}

async function storm(args) {
  const n = Number(args.clients), buffered = Number(args.buffered), missed = Number(args.missed || 10);
  const control = open(args.url);
  await whenAll([control], "connect");
  const sockets = await connectAll(args.url, n);
  const got = new Array(n).fill(0);
  sockets.forEach((s, i) => s.on(EVENT, () => { got[i]++; }));

  // behind=false: the buffer is filled first, then every client gets one packet (its offset is the
  // newest but one, it misses only what follows). behind=true: the client's offset is older than
  // the packets buffered for a room it is not in, which a restore has to step over.
  const behind = args.behind === "true";
  if (!behind) await ask(control, "fill", buffered);
  await ask(control, "miss", 1);
  await waitFor(() => got.every((c) => c >= 1), 60000, "first packet");
  if (behind) await ask(control, "fill", buffered);

  // drop every transport at once, as a network failure would
  sockets.forEach((s) => s.io.engine.close());
  await waitFor(async () => (await ask(control, "stats", null)).kept_sessions >= n, 60000, "kept sessions");
  await ask(control, "miss", missed);
  const before = await ask(control, "stats", null);
  got.fill(0);

  let recovered = 0, notRecovered = 0, complete = 0, t0 = 0;
  const connectTimes = [];
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  const finish = () => { if (recovered + notRecovered === n && complete === n) resolveDone(now()); };
  sockets.forEach((s, i) => {
    s.once("connect", () => { connectTimes.push(now() - t0); if (s.recovered) recovered++; else { notRecovered++; complete++; } finish(); });
    s.on(EVENT, () => { if (got[i] === missed && s.recovered !== false) { complete++; finish(); } });
  });
  await ask(control, "stall", null);
  t0 = now();
  sockets.forEach((s) => s.connect());
  const t1 = await Promise.race([done, sleep(120000).then(() => null)]);
  const stall = await ask(control, "stall", null);
  const result = {
    clients: n, buffered: before.packets, missed,
    seconds: t1 === null ? null : (t1 - t0) / 1000,
    recovered, not_recovered: notRecovered,
    all_connected_s: Math.max(...connectTimes) / 1000,
    median_connect_s: connectTimes.sort((a, b) => a - b)[connectTimes.length >> 1] / 1000,
    offset_behind_buffer: behind,
    all_missed_delivered: got.every((c) => c === missed),
    missed_received_min: Math.min(...got), missed_received_max: Math.max(...got),
    server_max_stall_ms: stall.max_ms,
  };
  sockets.forEach((s) => s.disconnect());
  control.disconnect();
  return result;
}

// N clients connect (the server's resident memory before and after: bytes per connection); then
// DROP of them lose their transports at once, the server broadcasts MISSED packets, and the DROP
// reconnect at once: how many recovered with exactly what they missed, the time until the last one
// had it, and the server's longest event-loop stall meanwhile. The others stay connected throughout
// and must get the MISSED packets live, once each.
async function crowd(args) {
  const n = Number(args.clients), drop = Number(args.drop), missed = Number(args.missed || 10);
  const control = open(args.url);
  await whenAll([control], "connect");
  const empty = await ask(control, "stats", null);
  const t00 = now();
  const sockets = await connectAll(args.url, n, Number(args.batch || 200));
  const connectS = (now() - t00) / 1000;
  const got = new Array(n).fill(0);
  sockets.forEach((s, i) => s.on(EVENT, () => { got[i]++; }));
  await ask(control, "miss", 1);  // every client has an offset
  await waitFor(() => got.every((c) => c >= 1), 120000, "first packet");
  const full = await ask(control, "stats", null);

  const dropped = sockets.slice(0, drop);
  dropped.forEach((s) => s.io.engine.close());
  await waitFor(async () => (await ask(control, "stats", null)).kept_sessions >= drop, 120000,
                "kept sessions");
  got.fill(0);
  await ask(control, "miss", missed);

  let recovered = 0, notRecovered = 0, complete = 0, t0 = 0;
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  const finish = () => { if (recovered + notRecovered === drop && complete === drop) resolveDone(now()); };
  dropped.forEach((s, i) => {
    s.once("connect", () => { if (s.recovered) recovered++; else { notRecovered++; complete++; } finish(); });
    s.on(EVENT, () => { if (got[i] === missed && s.recovered !== false) { complete++; finish(); } });
  });
  await ask(control, "stall", null);
  t0 = now();
  dropped.forEach((s) => s.connect());
  const t1 = await Promise.race([done, sleep(180000).then(() => null)]);
  const stall = await ask(control, "stall", null);
  const result = {
    clients: n, dropped: drop, missed, connect_all_s: connectS,
    rss_empty_bytes: empty.rss_bytes, rss_full_bytes: full.rss_bytes,
    bytes_per_connection: (full.rss_bytes - empty.rss_bytes) / n,
    seconds: t1 === null ? null : (t1 - t0) / 1000,
    recovered, not_recovered: notRecovered,
    all_missed_delivered: got.every((c) => c === missed),
    missed_received_min: Math.min(...got), missed_received_max: Math.max(...got),
    server_max_stall_ms: stall.max_ms,
  };
  sockets.forEach((s) => s.disconnect());
  control.disconnect();
  return result;
}

// One broadcast of M emits from server 1's handler, seen by every client: whether each got all M
// exactly once and in order, when the last one had them all, when a probe client on each server
// (probe.js, its own process) got its first packet, and the longest event-loop stall and the CPU
// of each server meanwhile. With --url2 the clients are split
// between two servers (one store, one adapter), and then server 1's clients drop (a network
// failure: transports closed, sessions kept), server 2 broadcasts --missed packets, and they
// come back to server 2: how many are recovered with exactly the packets they missed.
async function paths(args) {
  const n = Number(args.clients), m = Number(args.messages), missed = Number(args.missed || 10);
  const deadlineMs = Number(args.deadline || 120) * 1000;
  const urls = args.url2 ? [args.url, args.url2] : [args.url];
  const groups = [];
  for (let k = 0; k < urls.length; k++) {
    const count = Math.floor(n / urls.length) + (k < n % urls.length ? 1 : 0);
    groups.push(await connectAll(urls[k], count));
  }
  const sockets = groups.flat();
  const controls = groups.map((g) => g[0]);
  const probe = await startProbe(urls);
  const clients = sockets.map((s, i) => ({ s, group: groups.findIndex((g) => g.includes(s)),
                                           got: 0, bad: 0, done: null, prefix: "" }));
  let t0 = 0, left = 0, target = 0, resolveDone = null;
  clients.forEach((c) => c.s.on(EVENT, (text) => {
    if (!text.startsWith(c.prefix)) return;
    // the i-th packet of a round must say "<prefix>i": anything else is lost, doubled or reordered
    if (Number(text.slice(c.prefix.length)) !== c.got) c.bad++;
    c.got++;
    if (c.got === target) {
      c.done = now() - t0;
      if (--left === 0) resolveDone();
    }
  }));
  async function round(event, count, prefix, who, from) {
    who.forEach((c) => { c.got = 0; c.bad = 0; c.done = null; c.prefix = prefix; });
    target = count; left = who.length;
    const done = new Promise((r) => { resolveDone = r; });
    t0 = now();
    from.emit(event, count);
    const ok = await Promise.race([done.then(() => true), sleep(deadlineMs).then(() => false)]);
    if (!ok) throw new Error(`${who.filter((c) => c.got < count).length} of ${who.length} clients short of ${count}`);
  }
  await round("go", 100, "message ", clients, controls[0]); // warm-up
  const cpu0 = await Promise.all(controls.map(async (c) => { await ask(c, "stall", null); return (await ask(c, "stats", null)).cpu_s; }));
  await probe.ask({ watch: "message " });
  const emittedAt = performance.timeOrigin + performance.now();
  await round("go", m, "message ", clients, controls[0]);
  const seconds = Math.max(...clients.map((c) => c.done)) / 1000;
  const probeFirst = (await probe.ask({ report: true })).first;
  probe.stop();
  const perServer = [];
  for (let k = 0; k < urls.length; k++) {
    const stall = await ask(controls[k], "stall", null);
    const stats = await ask(controls[k], "stats", null);
    const mine = clients.filter((c) => c.group === k);
    perServer.push({
      clients: mine.length, max_stall_ms: stall.max_ms, max_stall_cpu_ms: stall.max_cpu_ms,
      cpu_s: stats.cpu_s - cpu0[k],
      first_packet_ms: probeFirst[k] === null ? null : probeFirst[k] - emittedAt,
      all_done_ms: Math.max(...mine.map((c) => c.done)),
    });
  }
  const result = {
    clients: n, messages: m, servers: urls.length, deliveries: n * m, seconds,
    deliveries_per_s: (n * m) / seconds,
    server_cpu_us_per_delivery: perServer.reduce((a, p) => a + p.cpu_s, 0) / (n * m) * 1e6,
    broadcast_bad_packets: clients.reduce((a, c) => a + c.bad + Math.abs(c.got - m), 0),
    per_server: perServer,
  };
  if (urls.length === 2) result.cross_server_recovery = await crossServer(groups, clients, missed, round, urls[1]);
  sockets.forEach((s) => s.disconnect());
  return result;
}

async function startProbe(urls) {
  const child = fork(path.join(__dirname, "probe.js"), urls);
  const next = () => new Promise((resolve) => child.once("message", resolve));
  await next(); // connected
  return {
    ask: (msg) => { const reply = next(); child.send(msg); return reply; },
    stop: () => child.send({ stop: true }),
  };
}

async function crossServer(groups, clients, missed, round, url2) {
  const leaving = clients.filter((c) => c.group === 0), staying = clients.filter((c) => c.group === 1);
  const control = groups[1][0];
  const keptBefore = (await ask(control, "stats", null)).kept_sessions;
  leaving.forEach((c) => c.s.io.engine.close());
  await waitFor(async () => (await ask(control, "stats", null)).kept_sessions >= keptBefore + leaving.length,
                30000, "kept sessions");
  // the packets are out (stored, and delivered to server 2's clients) before anyone comes back
  await round("miss", missed, "missed ", staying, control);
  let connected = 0, recovered = 0;
  const back = new Promise((resolve) => leaving.forEach((c) => {
    c.got = 0; c.bad = 0; c.prefix = "missed ";
    c.s.once("connect", () => { if (c.s.recovered) recovered++; if (++connected === leaving.length) resolve(); });
    c.s.io.uri = url2; // the Manager opens its next engine on server 2
    c.s.connect();
  }));
  await Promise.race([back, sleep(30000)]);
  const end = Date.now() + 10000; // a client short of packets is counted as losing them, not an error
  while (Date.now() < end && !leaving.every((c) => c.got >= missed)) await sleep(20);
  await sleep(200); // a late duplicate would arrive within this
  return {
    clients: leaving.length, recovered, connected,
    lost: leaving.reduce((a, c) => a + Math.max(0, missed - c.got), 0),
    duplicated_or_reordered: leaving.reduce((a, c) => a + c.bad + Math.max(0, c.got - missed), 0),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error("timed out waiting for " + what);
}

const args = parseArgs(process.argv.slice(2));
const run = { throughput, storm, paths, crowd }[args.mode];
if (!run) { console.error("usage: node loadgen.js throughput|storm|paths|crowd --url URL ..."); process.exit(2); }
run(args).then((result) => {
  console.log(JSON.stringify(result));
  process.exit(0);
}, (err) => { console.error(err && err.stack || err); process.exit(1); });
