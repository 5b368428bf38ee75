// Shared by the root tests that drive the console in Chromium.
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { v7 as uuidv7 } from "uuid";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const id = (prefix) => `${prefix}_${uuidv7()}`;

/** Polls `check` until it holds; fails naming `what` after `ms`. */
export async function until(check, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A free TCP port on loopback (asked of the kernel, then released). */
export async function freePort() {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address();
  s.close();
  await once(s, "close");
  return port;
}

/** nats-server on PATH (Debian puts it in /usr/sbin), or the one line that says what to install. */
export function natsServer() {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin"]) {
    if (dir && spawnSync(join(dir, "nats-server"), ["--version"], { stdio: "ignore" }).status === 0) return join(dir, "nats-server");
  }
  throw new Error("install nats-server (Debian: apt-get install nats-server)");
}
