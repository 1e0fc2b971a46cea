/**
 * The launch benchmark's database: the offline engine (in memory) in a process of its own, as a
 * MongoDB server is beside a deployed tool. Each tool of bench/launch.bench.ts gets one.
 * Prints one JSON line when ready: `{ "uri": "mongodb://127.0.0.1:<port>" }`.
 */
import { startOfflineEngine } from '../src/db/offline/server';

startOfflineEngine({ logger: { debug() {}, info() {}, warn() {}, error: console.error } })
  .then((engine) => console.log(JSON.stringify({ uri: engine.uri })))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
