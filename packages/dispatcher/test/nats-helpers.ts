import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What the tests say when they cannot run: one line. */
export const INSTALL_NATS = "install nats-server (Debian: apt-get install nats-server)";

/** nats-server on PATH (Debian puts it in /usr/sbin), or the one-line instruction as an error. */
export function natsServerBinary(): string {
  for (const dir of [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/usr/local/bin", "/usr/bin"]) {
    if (!dir) continue;
    const candidate = join(dir, "nats-server");
    if (spawnSync(candidate, ["--version"], { stdio: "ignore" }).status === 0) return candidate;
  }
  throw new Error(INSTALL_NATS);
}

/** A free TCP port on loopback (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** One nats-server process with JetStream; `kill9()` then `start()` brings it back on the same ports and store. */
export class NatsNode {
  process: ChildProcess | undefined;
  private log = "";

  constructor(
    readonly name: string,
    readonly port: number,
    readonly storeDir: string,
    private readonly cluster?: { name: string; port: number; routes: number[] },
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ["-js", "-sd", this.storeDir, "-p", String(this.port), "-a", "127.0.0.1", "--server_name", this.name];
    if (this.cluster) {
      args.push("--cluster_name", this.cluster.name, "--cluster", `nats://127.0.0.1:${this.cluster.port}`);
      args.push("--routes", this.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(","));
    }
    const child = spawn(natsServerBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
    this.process = child;
    this.log = "";
    child.stderr!.on("data", (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-20_000)));
    const deadline = Date.now() + 15_000;
    while (!(await portOpen(this.port))) {
      if (child.exitCode !== null) throw new Error(`nats-server ${this.name} exited with ${child.exitCode}: ${this.log.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`nats-server ${this.name} did not listen on ${this.port}: ${this.log.slice(-2000)}`);
      await sleep(50);
    }
  }

  /** kill -9: no shutdown, no flush. */
  async kill9(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await once(child, "exit");
  }

  /** A graceful shutdown (SIGTERM): the server flushes its stores and leaves the cluster. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await once(child, "exit");
  }

  logTail(): string {
    return this.log.slice(-4000);
  }
}

/** A single node or a cluster of nodes on loopback, each with its own store directory under one temporary directory. */
export class NatsCluster {
  private constructor(
    readonly nodes: NatsNode[],
    private readonly dir: string,
  ) {}

  static async start(size: 1 | 3): Promise<NatsCluster> {
    natsServerBinary();
    const dir = mkdtempSync(join(tmpdir(), "sguild-nats-"));
    const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
    const clusterPorts = size > 1 ? await Promise.all(Array.from({ length: size }, () => freePort())) : [];
    const nodes = ports.map(
      (port, i) =>
        new NatsNode(
          `n${i + 1}`,
          port,
          join(dir, `n${i + 1}`),
          size > 1 ? { name: "sguild-test", port: clusterPorts[i]!, routes: clusterPorts.filter((_, j) => j !== i) } : undefined,
        ),
    );
    const cluster = new NatsCluster(nodes, dir);
    await Promise.all(nodes.map((n) => n.start()));
    return cluster;
  }

  get servers(): string[] {
    return this.nodes.map((n) => n.url);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill9()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
