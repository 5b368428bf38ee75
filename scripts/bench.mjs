// pnpm bench <publish|consume|all>: runs the dispatcher benchmarks (built first by the root script).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const benches = ["publish", "consume", "fanout"];
const wanted = process.argv[2] ?? "all";
const list = wanted === "all" ? benches : [wanted];
for (const name of list) {
  if (!benches.includes(name)) {
    console.error(`unknown benchmark "${name}": choose one of ${benches.join(", ")}, or all`);
    process.exit(2);
  }
  const file = fileURLToPath(new URL(`../packages/dispatcher/bench/${name}.mjs`, import.meta.url));
  const result = spawnSync(process.execPath, [file], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
