import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";

const DIST = new URL("../dist/jetstream/index.js", import.meta.url);

/** The fixtures import the built package: build it first (`npx tsup`), as the crash tests' fixtures do. */
export function assertBuilt(): void {
  if (!existsSync(DIST)) throw new Error("dist/jetstream/index.js is missing: run `npx tsup` in packages/dispatcher first");
}

/** A relay or inbox child process: started, kill -9'd and started again with the same arguments. */
export class ChildService {
  process: ChildProcess | undefined;
  /** Exits we did not cause (a crash fails the test). */
  readonly unexpectedExits: string[] = [];
  private stderrTail = "";
  private killing = false;
  starts = 0;

  constructor(
    readonly script: string,
    private readonly args: string[],
  ) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, [new URL(`./fixtures/${this.script}`, import.meta.url).pathname, ...this.args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, DISPATCHER_LOG_LEVEL: process.env["JETSTREAM_TEST_LOG"] ? "info" : "error" },
    });
    this.process = child;
    this.killing = false;
    this.starts += 1;
    child.stderr!.on("data", (chunk: Buffer) => {
      if (process.env["JETSTREAM_TEST_LOG"]) process.stderr.write(`[${this.script}] ${chunk.toString()}`);
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-3000);
    });
    child.once("exit", (code, signal) => {
      if (!this.killing) this.unexpectedExits.push(`${this.script} exited with ${signal ?? code}: ${this.stderrTail.trim()}`);
    });
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("started")) {
          child.stdout!.off("data", onData);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.once("exit", (code) => reject(new Error(`${this.script} exited with ${code} before starting: ${this.stderrTail.trim()}`)));
    });
  }

  /** kill -9: no stop, no close, no flush. */
  async kill9(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.killing = true;
    child.kill("SIGKILL");
    await once(child, "exit");
  }

  /** A line of JSON the child prints on request (the inbox's counts). */
  async ask(prefix: string): Promise<unknown> {
    const child = this.process!;
    const answer = new Promise<unknown>((resolve) => {
      let out = "";
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split("\n").find((l) => l.startsWith(`${prefix} `));
        if (line) {
          child.stdout!.off("data", onData);
          resolve(JSON.parse(line.slice(prefix.length + 1)));
        }
      };
      child.stdout!.on("data", onData);
    });
    child.stdin!.write("?\n");
    return answer;
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.killing = true;
    child.kill("SIGTERM");
    await once(child, "exit");
  }
}
