import type pg from "pg";
import { ContractValidator, SguildError, loadRegistry, type Registry } from "@sguild/contracts";
import { tablesFor } from "../config/index.js";
import { fromPgPool, openPool, type Database } from "../database/index.js";
import { DispatcherConfigError } from "../errors/index.js";
import { hasMediaType, readLimitedText } from "../http/body.js";
import { errorField, json, problem } from "../http/responses.js";
import { defaultLogger, type Logger } from "../observability/index.js";
import { fromCloudEvent, parseStructuredHttp } from "./cloud-event.js";
import { InboxStore } from "./inbox-store.js";
import { resolveInboxOptions, type InboxKey } from "./inbox-options.js";
import { checkSignatureHeaders, verifyBodySignature } from "./signature.js";

export type { InboxKey } from "./inbox-options.js";

export interface InboxOptions {
  /** This domain: events are accepted only if the registry lists it as a consumer. */
  domain: string;
  /** Where accepted events are stored (this domain's dispatcher tables). */
  pool?: pg.Pool;
  databaseUrl?: string;
  schema?: string;
  /**
   * Active signing keys by key id (several during a rotation): a secret, or `{ secret, producer }` to
   * accept only that producer's events under the key.
   */
  keys: Readonly<Record<string, string | InboxKey>>;
  /** Tenant ids whose events are accepted; others get 403. Default: `[DISPATCHER_TENANT_ID]`, required when that is unset. */
  tenants?: readonly string[];
  /** Replay window for the signature timestamp. Default 300000 ms (5 minutes). */
  toleranceMs?: number;
  /** Largest body read, in bytes. Default 1048576 (1 MiB); a larger one is answered 413 unread. */
  maxBodyBytes?: number;
  registry?: Registry;
  logger?: Logger;
}

const STATUS: Record<string, number> = {
  MISSING_SIGNATURE: 401,
  UNKNOWN_KEY_ID: 401,
  STALE_TIMESTAMP: 401,
  BAD_SIGNATURE: 401,
  PAYLOAD_TOO_LARGE: 413,
  UNKNOWN_EVENT_TYPE: 422,
  SCHEMA_VERSION_NOT_REGISTERED: 422,
  NO_PAYLOAD_SCHEMA: 422,
  ENVELOPE_INVALID: 422,
  PAYLOAD_INVALID: 422,
  INVALID_ARGUMENT: 400,
  EVENT_ID_CONFLICT: 409,
};

const STRUCTURED = "application/cloudevents+json";

/**
 * The signed inbox, a Web-standard handler. Before reading the body: the signature headers (present,
 * well-formed, active key, timestamp in the window) and the structured-mode content type. Then the
 * body, at most `maxBodyBytes`, its HMAC, the CloudEvent, this domain consuming the type, the
 * registered producer and the tenant, envelope and payload against the contracts; the event is stored
 * once (the same event again is 2xx, other content under its id is 409). Every refusal is a 4xx with
 * a stable code, and nothing is stored.
 */
export function createInbox(options: InboxOptions): ((request: Request) => Promise<Response>) & { close(): Promise<void> } {
  const settings = resolveInboxOptions(options);
  const url = options.databaseUrl ?? process.env["DATABASE_URL"];
  if (!options.pool && !url) throw new DispatcherConfigError("createInbox needs pool or databaseUrl (or DATABASE_URL)", "database");
  const database: Database = fromPgPool(options.pool ?? openPool(url!, options.logger), !options.pool, options.logger);
  const validator = new ContractValidator(options.registry ?? loadRegistry());
  const store = new InboxStore(tablesFor(options.schema ?? "public"), validator.registry);
  const logger = options.logger ?? defaultLogger();

  const handler = async (request: Request): Promise<Response> => {
    if (request.method !== "POST") return problem(405, "METHOD_NOT_ALLOWED", "use POST");
    const signed = checkSignatureHeaders(request.headers, settings.secrets, settings.toleranceMs);
    if (!signed.ok) return problem(401, signed.code, signed.message);
    // Binary mode carries the attributes in ce- headers, which the signature does not cover.
    if (!hasMediaType(request, STRUCTURED)) return problem(415, "UNSUPPORTED_MEDIA_TYPE", `send a structured-mode CloudEvent (content-type: ${STRUCTURED})`);
    const unsigned = [...request.headers.keys()].find((name) => name.startsWith("ce-"));
    if (unsigned !== undefined) {
      return problem(400, "INVALID_CLOUDEVENT", "ce- headers are not signed: send every attribute in the structured body", unsigned);
    }
    try {
      const body = await readLimitedText(request, settings.maxBodyBytes);
      const verified = verifyBodySignature(signed, body);
      if (!verified.ok) return problem(401, verified.code, verified.message);
      let parsed;
      try {
        parsed = fromCloudEvent(parseStructuredHttp({ "content-type": STRUCTURED }, body));
      } catch (cause) {
        return problem(400, "INVALID_CLOUDEVENT", `not a structured Sguild CloudEvent: ${String((cause as Error)?.message).slice(0, 200)}`, errorField(cause));
      }
      const { envelope, traceContext } = parsed;
      const registration = validator.registry.getRegistration(envelope.event_type);
      if (!(registration.consumers as string[]).includes(options.domain)) {
        return problem(403, "NOT_A_CONSUMER", `the registry does not list "${options.domain}" as a consumer of "${envelope.event_type}"`);
      }
      validator.assertEnvelope(envelope);
      if (registration.producer !== envelope.producer) {
        return problem(403, "PRODUCER_MISMATCH", `"${envelope.event_type}" is produced by "${registration.producer}" per the registry, not "${envelope.producer}"`);
      }
      const keyProducer = settings.keyProducers[signed.keyId];
      if (keyProducer !== undefined && keyProducer !== envelope.producer) {
        return problem(403, "PRODUCER_MISMATCH", `key "${signed.keyId}" signs events of "${keyProducer}" only, not "${envelope.producer}"`);
      }
      if (!settings.tenants.has(envelope.tenant_id)) {
        return problem(403, "TENANT_NOT_ALLOWED", `tenant ${JSON.stringify(envelope.tenant_id).slice(0, 100)} is not one this inbox accepts`);
      }
      validator.assertPayload(envelope.event_type, envelope.schema_version, envelope.payload);
      await store.store(database, { envelope, traceContext });
      return json(202, { accepted: envelope.event_id });
    } catch (error) {
      if (SguildError.isInstance(error) && STATUS[error.code]) {
        return problem(STATUS[error.code]!, error.code, error.message, errorField(error));
      }
      logger.error({ err: error }, "dispatcher inbox failed");
      return problem(500, "INTERNAL", "internal error");
    }
  };
  return Object.assign(handler, { close: () => database.close() });
}
