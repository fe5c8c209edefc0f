// JSON lines over stdio, shared by client.js and server.js.
// Out: one JSON object per line on stdout. In: one JSON command per line on stdin;
// a command with a "seq" is answered by {"type": "done", "seq": ...} once it has taken effect.
"use strict";
const readline = require("node:readline");

function report(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function serveCommands(handlers, onEnd) {
  const input = readline.createInterface({ input: process.stdin });
  input.on("line", async (line) => {
    if (!line.trim()) return;
    let command;
    try {
      command = JSON.parse(line);
    } catch (err) {
      report({ type: "error", error: `not JSON: ${line}` });
      return;
    }
    const handler = handlers[command.cmd];
    if (!handler) {
      report({ type: "error", seq: command.seq, error: `unknown command ${command.cmd}` });
      return;
    }
    try {
      const result = await handler(command);
      report({ ...(result || {}), type: "done", seq: command.seq, cmd: command.cmd });
    } catch (err) {
      report({ type: "error", seq: command.seq, cmd: command.cmd, error: String(err && err.stack || err) });
    }
  });
  // The test closes our stdin to stop us: no process is left behind if it dies.
  input.on("close", onEnd);
}

module.exports = { report, serveCommands };
