import pg from "pg";
import type { Logger } from "../observability/logger.js";
import { DEFAULTS } from "../config/defaults.js";

interface ClientInternals {
  processID: number | null;
  secretKey: number | null;
  host: string;
  port: number;
  connectionParameters: { ssl?: unknown };
}

interface WireConnection {
  on(event: string, listener: (...args: never[]) => void): void;
  connect(portOrPath: number | string, host?: string): void;
  requestSsl(): void;
  cancel(processID: number, secretKey: number): void;
}

/**
 * Sends PostgreSQL's cancel request for whatever `client`'s backend is running (a lock wait, a
 * pg_sleep, a slow query), over a connection of its own: no pool slot, no privilege, and keyed by
 * the backend's secret so it can never hit another session. A backend that is idle ignores it.
 */
export function cancelRunningStatement(client: pg.PoolClient, logger: Logger): void {
  const c = client as unknown as ClientInternals;
  if (c.processID === null || c.secretKey === null) return;
  // pg's wire-protocol Connection; its typings omit the methods used here.
  const connection = new pg.Connection({ ssl: c.connectionParameters.ssl as boolean | undefined }) as unknown as WireConnection;
  const pid = c.processID;
  const secret = c.secretKey;
  connection.on("error", (err: Error) => logger.debug({ err, pid }, "dispatcher cancel request connection error"));
  if (c.connectionParameters.ssl) {
    connection.on("connect", () => connection.requestSsl());
    connection.on("sslconnect", () => connection.cancel(pid, secret));
  } else {
    connection.on("connect", () => connection.cancel(pid, secret));
  }
  if (c.host?.startsWith("/")) connection.connect(`${c.host}/.s.PGSQL.${c.port}`);
  else connection.connect(c.port, c.host);
}

/**
 * Ends a backend from a connection of its own and waits (up to 5 s) until it has exited, so its
 * transaction is rolled back and its locks released before the caller goes on. A connection of
 * its own so that an exhausted pool cannot block it. Resolves false when that was not possible.
 */
export async function terminateBackend(config: pg.ClientConfig, pid: number, logger: Logger): Promise<boolean> {
  const client = new pg.Client({
    ...config,
    application_name: "sguild-dispatcher-terminate",
    connectionTimeoutMillis: DEFAULTS.pools.connectTimeoutMs,
  });
  client.on("error", (err) => logger.debug({ err, pid }, "dispatcher terminate connection error"));
  try {
    await client.connect();
    const { rows } = await client.query<{ done: boolean }>(
      `SELECT pg_terminate_backend($1::int, ${DEFAULTS.transactions.terminateWaitMs}) AS done`,
      [pid],
    );
    return rows[0]?.done === true;
  } catch (err) {
    logger.warn({ err, pid }, "dispatcher could not terminate an abandoned transaction's backend");
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
