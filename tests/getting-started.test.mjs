// Follows docs/getting-started-producer.md and docs/getting-started-consumer.md step by step in a
// scratch npm project outside the workspace, with the packages as packed tarballs:
// - ```sh blocks: each line is a command, run as written (in order; a failing one fails the test);
//   `terminal=N ready="..."` starts it in the background, like a second terminal, and waits for that text;
// - ```<lang> file=PATH blocks are written to PATH;
// - ```text terminal=N blocks are what that terminal prints ("…" stands for anything).
// The only changes to the commands: `@sguild/*` installs from the tarballs, and Prisma's CLI gets an
// engine path (this machine cannot download its schema engine; `prisma generate` does not use it).
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createConnection } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const pnpm = process.env.npm_execpath?.includes("pnpm") ? [process.execPath, process.env.npm_execpath] : ["npx", "-y", "pnpm@10.34.9"];
const packs = mkdtempSync(join(tmpdir(), "sguild-packs-"));
const noEngine = join(packs, "no-schema-engine");
const terminals = [];
const scratch = [packs];

beforeAll(() => {
  for (const pkg of ["contracts", "prisma-fragment", "dispatcher"]) {
    execFileSync(pnpm[0], [...pnpm.slice(1), "pack", "--pack-destination", packs], { cwd: join(root, "packages", pkg), stdio: "ignore" });
  }
  writeFileSync(noEngine, "");
}, 300_000);

afterAll(async () => {
  for (const t of terminals) await t.stop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** The fenced blocks of a markdown file, in order, with their attributes. */
function blocks(markdown) {
  return [...markdown.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)].map(([, lang, info, body]) => ({
    lang,
    body,
    attrs: Object.fromEntries([...info.matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)].map(([, k, quoted, bare]) => [k, quoted ?? bare])),
  }));
}

function commandsOf(body) {
  return body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

function asRun(command) {
  const tarball = (name) =>
    join(
      packs,
      readdirSync(packs).find((f) => f.startsWith(`sguild-${name}-`)),
    );
  return command.replace(/@sguild\/(contracts|dispatcher|prisma-fragment)(?=\s|$)/g, (_, name) => tarball(name));
}

// A fresh shell's environment: none of the test run's database settings leak in.
const env = () => {
  const e = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: noEngine, npm_config_audit: "false", npm_config_fund: "false" };
  for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "SGUILD_TEST_ADMIN_URL", "DISPATCHER_LOG_LEVEL"]) delete e[name];
  return e;
};

/** A terminal: a background bash running the block's commands, its output kept. */
function terminal(command, cwd) {
  const child = spawn("bash", ["-c", command], { cwd, env: env(), detached: true });
  const t = { output: "", exit: undefined };
  child.stdout.on("data", (d) => (t.output += d));
  child.stderr.on("data", (d) => (t.output += d));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve((t.exit = { code, signal }))));
  t.waitFor = async (test, what, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (!test(t.output)) {
      if (t.exit)
        throw new Error(`the terminal running "${command}" exited (${JSON.stringify(t.exit)}) before ${what}; it printed:\n${t.output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} from "${command}"; it printed:\n${t.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  t.stop = async () => {
    if (!t.exit) process.kill(-child.pid, "SIGINT");
    return exited;
  };
  terminals.push(t);
  return t;
}

/** "…" matches anything; every other piece must appear, in order, on one line. */
function printed(output, expected) {
  return commandsOf(expected).every((line) => {
    const pieces = line.split("…").filter(Boolean);
    return output.split("\n").some((out) => {
      let at = 0;
      return pieces.every((piece) => (at = out.indexOf(piece, at)) >= 0 && (at += piece.length));
    });
  });
}

async function follow(doc) {
  const dir = mkdtempSync(join(tmpdir(), "sguild-first-hour-"));
  chmodSync(dir, 0o755); // a project folder as a user has it (run as root, the dev database's postgres user works in it)
  scratch.push(dir);
  const open = new Map();
  const log = [];
  for (const block of blocks(readFileSync(join(root, "docs", doc), "utf8"))) {
    if (block.attrs.file) {
      mkdirSync(dirname(join(dir, block.attrs.file)), { recursive: true });
      writeFileSync(join(dir, block.attrs.file), block.body);
    } else if (block.lang === "sh" && block.attrs.terminal) {
      const t = terminal(commandsOf(block.body).map(asRun).join(" && "), dir);
      open.set(block.attrs.terminal, t);
      await t.waitFor((out) => out.includes(block.attrs.ready), `"${block.attrs.ready}"`);
    } else if (block.lang === "sh") {
      for (const command of commandsOf(block.body)) {
        const started = Date.now();
        try {
          execFileSync("bash", ["-c", asRun(command)], { cwd: dir, env: env(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        } catch (error) {
          throw new Error(`${doc}: "${command}" failed (exit ${error.status}):\n${error.stdout}\n${error.stderr}`);
        }
        log.push(`${command}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    } else if (block.lang === "text" && block.attrs.terminal) {
      const t = open.get(block.attrs.terminal);
      await t.waitFor((out) => printed(out, block.body), `the lines:\n${block.body}`, 30_000);
    }
  }
  for (const t of open.values()) await t.stop();
  return { log, open };
}

// Ctrl-C (SIGINT to the terminal's process group): npx ends by the signal, as in a shell; what
// matters is that the dev server stopped PostgreSQL and freed its port.
async function expectStoppedCleanly(open) {
  for (const t of open.values()) expect([t.exit.code === 0 || t.exit.signal === "SIGINT", t.output]).toEqual([true, t.output]);
  expect(open.get("2").output).toContain("PostgreSQL stopped");
  const refused = await new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port: 54329 });
    socket.on("connect", () => (socket.destroy(), resolve(false)));
    socket.on("error", () => resolve(true));
  });
  expect(refused).toBe(true);
}

describe("the getting-started docs, followed literally", () => {
  it("consumer: init, a dev database, a consumed event, a handler and its test", async () => {
    const { open, log } = await follow("getting-started-consumer.md");
    console.log(`getting-started-consumer.md:\n  ${log.join("\n  ")}`);
    await expectStoppedCleanly(open);
  }, 900_000);

  it("producer: init, a dev database, a published event seen by tail", async () => {
    const { open, log } = await follow("getting-started-producer.md");
    console.log(`getting-started-producer.md:\n  ${log.join("\n  ")}`);
    await expectStoppedCleanly(open);
  }, 900_000);
});
