// Starts the Cloud Storage emulator of npm firebase-tools on its own (no Java, no rules runtime, no download).
// Usage: node gcs-emulator.js <node_modules folder> <data folder> [port]   (port 0 or none: a free port)
// Prints "listening http://127.0.0.1:PORT" once it answers; stops on SIGTERM/SIGINT.
"use strict";
const path = require("path");
const fs = require("fs");
const [modules, dataDir, portArg] = process.argv.slice(2);
if (!modules || !dataDir) {
  console.error("usage: node gcs-emulator.js <node_modules folder> <data folder> [port]");
  process.exit(2);
}
fs.mkdirSync(dataDir, { recursive: true });
process.env.TMPDIR = dataDir; // the emulator keeps its blobs under os.tmpdir()
const lib = path.join(modules, "firebase-tools", "lib", "emulator");
const { StorageEmulator } = require(path.join(lib, "storage"));
const { EmulatorRegistry } = require(path.join(lib, "registry"));
const { createApp } = require(path.join(lib, "storage", "server"));
const args = { projectId: "flowstore-test", host: "127.0.0.1", port: Number(portArg || 0), rules: { name: "none", content: "" }, auto_download: false };
const emulator = new StorageEmulator(args);
EmulatorRegistry.INSTANCES.set("storage", emulator);
createApp(args.projectId, emulator).then((app) => {
  const server = app.listen(args.port, args.host, () => {
    args.port = server.address().port; // URLs the emulator hands out (resumable uploads) name the real port
    console.log(`listening http://${args.host}:${args.port}`);
  });
  const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 1000).unref();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}, (e) => { console.error(e); process.exit(1); });
