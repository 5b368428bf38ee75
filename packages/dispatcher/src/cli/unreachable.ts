// Whether a command failed because the database could not be reached (exit 2, "cannot reach the
// database") rather than the command itself failing; read from codes, never from message wording.

/** Node's socket and DNS errors (besides any of a `connect` call). */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH"]);

/**
 * PostgreSQL's refusals of the session: login failed (28000, 28P01), no such database (3D000),
 * shutting down or not started (57P01, 57P02, 57P03), no connection made (08001, 08004, 08006).
 */
const POSTGRES_CODES = new Set(["28000", "28P01", "3D000", "57P01", "57P02", "57P03", "08001", "08004", "08006"]);

/**
 * pg's and pg-pool's own connection failures are plain Errors without a code, so their exact
 * messages (pg 8, pg-pool 3) are the only signal: the connect timeouts (pool wait, new client,
 * the Client's own), the socket closed before or under the session, and SSL refused.
 */
const PG_CONNECTION_FAILURES = new Set([
  "timeout exceeded when trying to connect",
  "Connection terminated due to connection timeout",
  "timeout expired",
  "Connection terminated",
  "Connection terminated unexpectedly",
  "Client has encountered a connection error and is not queryable",
  "The server does not support SSL connections",
  "There was an error establishing an SSL connection",
]);

function isPgConnectionFailure(error: Error): boolean {
  return !("code" in error) && PG_CONNECTION_FAILURES.has(error.message);
}

/** True when `error`, or an error in its `cause` chain, says the database was not reached. */
export function databaseUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    if (typeof code === "string" && (NETWORK_CODES.has(code) || POSTGRES_CODES.has(code))) return true;
    if (syscall === "connect") return true; // ENETUNREACH, ENOENT of a Unix socket path, ...
    if (isPgConnectionFailure(e)) return true;
  }
  return false;
}
