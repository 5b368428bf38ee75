// prisma generate needs no schema engine; point the CLI at a placeholder so it does not download one.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const engine = join(tmpdir(), `sguild-no-schema-engine-${process.getuid?.() ?? "user"}`); // per user: another user's file is not writable
writeFileSync(engine, "");
const prisma = fileURLToPath(new URL("../node_modules/.bin/prisma", import.meta.url));
execFileSync(prisma, ["generate"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? engine, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
});
