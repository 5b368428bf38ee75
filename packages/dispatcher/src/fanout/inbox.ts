import pg from "pg";
import { ContractValidator, SguildError, loadRegistry, type Registry } from "@sguild/contracts";
import { tablesFor } from "../config/index.js";
import { fromPgPool, type Database } from "../database/index.js";
import { DispatcherConfigError } from "../errors/index.js";
import { json, problem } from "../http/responses.js";
import { silentLogger, type Logger } from "../observability/index.js";
import { EventWriter } from "../producer/index.js";
import { fromCloudEvent, parseStructuredHttp } from "./cloud-event.js";
import { verifySignature } from "./signature.js";

export interface InboxOptions {
  /** This domain: events are accepted only if the registry lists it as a consumer. */
  domain: string;
  /** Where accepted events are stored (this domain's dispatcher tables). */
  pool?: pg.Pool;
  databaseUrl?: string;
  schema?: string;
  /** Active signing keys by key id (several during a rotation). */
  keys: Readonly<Record<string, string>>;
  /** Replay window for the signature timestamp. Default 300000 ms (5 minutes). */
  toleranceMs?: number;
  registry?: Registry;
  logger?: Logger;
}

const STATUS: Record<string, number> = {
  MISSING_SIGNATURE: 401,
  UNKNOWN_KEY_ID: 401,
  STALE_TIMESTAMP: 401,
  BAD_SIGNATURE: 401,
  NOT_A_CONSUMER: 403,
  UNKNOWN_EVENT_TYPE: 422,
  SCHEMA_VERSION_NOT_REGISTERED: 422,
  NO_PAYLOAD_SCHEMA: 422,
  ENVELOPE_INVALID: 422,
  PAYLOAD_INVALID: 422,
  INVALID_ARGUMENT: 400,
};

/**
 * The signed inbox, a Web-standard handler: verifies the HMAC signature and replay window,
 * parses the CloudEvent, validates envelope and payload against the contracts, checks this domain
 * consumes the type, and stores the event once (the same event twice is one row, 2xx both times).
 * Every refusal is a 4xx with a stable code, and nothing is stored.
 */
export function createInbox(options: InboxOptions): ((request: Request) => Promise<Response>) & { close(): Promise<void> } {
  if (!options?.keys || Object.keys(options.keys).length === 0) throw new DispatcherConfigError("createInbox needs at least one signing key", "keys");
  const url = options.databaseUrl ?? process.env["DATABASE_URL"];
  if (!options.pool && !url) throw new DispatcherConfigError("createInbox needs pool or databaseUrl (or DATABASE_URL)", "database");
  const database: Database = fromPgPool(options.pool ?? new pg.Pool({ connectionString: url }), !options.pool);
  const writer = new EventWriter(tablesFor(options.schema ?? "public"), { idempotent: true });
  const validator = new ContractValidator(options.registry ?? loadRegistry());
  const toleranceMs = options.toleranceMs ?? 300_000;
  const logger = options.logger ?? silentLogger;

  const handler = async (request: Request): Promise<Response> => {
    if (request.method !== "POST") return problem(405, "METHOD_NOT_ALLOWED", "use POST");
    const body = await request.text();
    const signature = verifySignature(request.headers, body, options.keys, toleranceMs);
    if (!signature.ok) return problem(STATUS[signature.code]!, signature.code, signature.message);
    try {
      let parsed;
      try {
        parsed = fromCloudEvent(parseStructuredHttp(Object.fromEntries(request.headers), body));
      } catch (cause) {
        return problem(400, "INVALID_CLOUDEVENT", `not a structured Sguild CloudEvent: ${(cause as Error).message}`);
      }
      const { envelope, traceContext } = parsed;
      const registration = validator.registry.getRegistration(envelope.event_type);
      if (!(registration.consumers as string[]).includes(options.domain)) {
        return problem(403, "NOT_A_CONSUMER", `the registry does not list "${options.domain}" as a consumer of "${envelope.event_type}"`);
      }
      validator.assertEnvelope(envelope);
      validator.assertPayload(envelope.event_type, envelope.schema_version, envelope.payload);
      await writer.insert(database, [{ envelope, traceContext }]);
      return json(202, { accepted: envelope.event_id });
    } catch (error) {
      if (SguildError.isInstance(error) && STATUS[error.code]) {
        return problem(STATUS[error.code]!, error.code, error.message);
      }
      logger.error({ err: error }, "dispatcher inbox failed");
      return problem(500, "INTERNAL", "internal error");
    }
  };
  return Object.assign(handler, { close: () => database.close() });
}
