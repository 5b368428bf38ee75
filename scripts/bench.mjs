// pnpm bench <name|all>: runs a benchmark (the workspace is built first by the root script).
// <name> is a file of packages/dispatcher/bench (publish, consume, fanout, ...) or peers
// (bench/peers: the dispatcher next to graphile-worker, pg-boss and a raw outbox, each on its own
// PostgreSQL; a few minutes, not part of all). all = publish, consume, fanout.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dispatcherBench = new URL("../packages/dispatcher/bench/", import.meta.url);
const files = { peers: new URL("../bench/peers/peers.mjs", import.meta.url) };
for (const file of readdirSync(dispatcherBench).sort()) {
  if (file.endsWith(".mjs") && !file.startsWith(".") && file !== "support.mjs") files[file.slice(0, -4)] = new URL(file, dispatcherBench);
}
const all = ["publish", "consume", "fanout"];
const wanted = process.argv[2] ?? "all";
const list = wanted === "all" ? all : [wanted];
for (const name of list) {
  if (!(name in files)) {
    console.error(`unknown benchmark "${name}": choose one of ${Object.keys(files).join(", ")}, or all`);
    process.exit(2);
  }
  const result = spawnSync(process.execPath, [fileURLToPath(files[name])], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
