// The page's Disconnect/Connect toggle (chatlib/chat/static/index.html), driven from stdin.
// Usage: node page_client.js URL SOCKETIO_PATH; commands "drop" and "connect", one a line;
// prints one JSON object a line.
const readline = require("readline");
const { io } = require(process.env.SOCKET_IO_CLIENT || "socket.io-client");

const [url, path] = process.argv.slice(2);
const socket = io(url, { path, transports: ["websocket"] });
const messages = [];
const say = (object) => console.log(JSON.stringify(object));

socket.on("connect", () => say({ connected: socket.id, recovered: socket.recovered }));
socket.on("disconnect", (reason) => say({ disconnected: reason }));
socket.on("chat message", (msg) => {
  messages.push(msg);
  say({ message: msg, messages });
});

readline.createInterface({ input: process.stdin }).on("line", (command) => {
  if (command === "drop") {
    // what the page's Disconnect does
    socket.io.reconnection(false);
    socket.io.engine.close();
  } else if (command === "connect") {
    // what the page's Connect does
    socket.io.reconnection(true);
    socket.connect();
  } else if (command === "exit") {
    socket.disconnect();
    process.exit(0);
  }
});
