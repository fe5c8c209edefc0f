// The official socket.io-client against the wheel's server (.ci/wheel_check): Alice's network
// fails, Bob sends meanwhile, Alice comes back recovered with the same id and the missed message.
//   node client.js URL     prints one line, "PASS ..." or "FAIL ...", and exits 0 or 1
"use strict";
const { io } = require("socket.io-client");

const url = process.argv[2];
const timer = setTimeout(() => finish(false, "no result within 20 s"), 20000);

function finish(passed, what) {
  clearTimeout(timer);
  console.log(`${passed ? "PASS" : "FAIL"} ${what}`);
  process.exit(passed ? 0 : 1);
}

function once(socket, event) {
  return new Promise((resolve) => socket.once(event, resolve));
}

async function until(what, check) {
  for (let tries = 0; tries < 200; tries += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  finish(false, `${what} did not happen`);
}

async function main() {
  const alice = io(url, { forceNew: true });  // the client's default: polling, then WebSocket
  const bob = io(url, { forceNew: true, transports: ["websocket"] });
  const seen = [];
  alice.on("chat message", (text) => seen.push(text));
  await Promise.all([once(alice, "connect"), once(bob, "connect")]);
  const id = alice.id;
  await until("the upgrade to WebSocket", () => alice.io.engine.transport.name === "websocket");

  await bob.emitWithAck("chat message", "before");
  await until("the first message", () => seen.includes("before"));

  alice.io.reconnection(false);  // the network fails: no reconnection until it is back
  const gone = once(alice, "disconnect");
  alice.io.engine.close();
  await gone;
  await until("the server noticing the drop", async () => !(await bob.emitWithAck("connected?", id)));
  await bob.emitWithAck("chat message", "while away");

  const back = once(alice, "connect");
  alice.io.reconnection(true);
  alice.connect();
  await back;
  if (!alice.recovered) finish(false, "reconnected with recovered false");
  if (alice.id !== id) finish(false, `a new id ${alice.id}, not ${id}`);
  await until("the missed message", () => seen.includes("while away"));
  if (JSON.stringify(seen) !== JSON.stringify(["before", "while away"])) {
    finish(false, `received ${JSON.stringify(seen)}`);
  }
  alice.disconnect();
  bob.disconnect();
  finish(true, "recovered with the same id and the missed message, once");
}

main().catch((error) => finish(false, String(error && error.stack || error)));
