import type pg from "pg";
import { ContractValidator, loadRegistry, type Registry } from "@sguild/contracts";
import { tablesFor } from "../config/index.js";
import { fromPgPool, openPool, type Database } from "../database/index.js";
import { DispatcherConfigError, EventIdConflictError } from "../errors/index.js";
import { hasMediaType, readLimitedText } from "../http/body.js";
import { json, problem } from "../http/responses.js";
import { defaultLogger, type Logger } from "../observability/index.js";
import { BATCH_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE } from "./cloud-event.js";
import { answerBatch } from "./inbox-batch.js";
import { checkEvent, refusalOf, type Refusal } from "./inbox-checks.js";
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
  /** Largest body read, in bytes, a batch included. Default 1048576 (1 MiB); a larger one is answered 413 unread. */
  maxBodyBytes?: number;
  /** Most events in one batched request. Default 1000; more is answered 413 BATCH_TOO_LARGE. */
  maxBatchEvents?: number;
  registry?: Registry;
  logger?: Logger;
}

/**
 * The signed inbox, a Web-standard handler. Before reading the body: the signature headers (present,
 * well-formed, active key, timestamp in the window) and the content type: structured mode (one event)
 * or batched mode (a JSON array of them). Then the body, at most `maxBodyBytes`, its HMAC, and each
 * event's checks (checkEvent: the CloudEvent, this domain consuming the type, envelope, registered
 * producer, key's producer, tenant, payload); an event is stored once (the same event again is 2xx,
 * other content under its id is 409). A single event's refusal is a 4xx with a stable code and nothing
 * stored; a batch is answered 207 with one result per event (see answerBatch).
 */
export function createInbox(options: InboxOptions): ((request: Request) => Promise<Response>) & { close(): Promise<void> } {
  const settings = resolveInboxOptions(options);
  const url = options.databaseUrl ?? process.env["DATABASE_URL"];
  if (!options.pool && !url) throw new DispatcherConfigError("createInbox needs pool or databaseUrl (or DATABASE_URL)", "database");
  const database: Database = fromPgPool(options.pool ?? openPool(url!, options.logger), !options.pool, options.logger);
  const validator = new ContractValidator(options.registry ?? loadRegistry());
  const store = new InboxStore(tablesFor(options.schema ?? "public"), validator.registry);
  const logger = options.logger ?? defaultLogger();
  const answer = (r: Refusal) => problem(r.status, r.code, r.message, r.field);

  const handler = async (request: Request): Promise<Response> => {
    if (request.method !== "POST") return problem(405, "METHOD_NOT_ALLOWED", "use POST");
    const signed = checkSignatureHeaders(request.headers, settings.secrets, settings.toleranceMs);
    if (!signed.ok) return problem(401, signed.code, signed.message);
    // Binary mode carries the attributes in ce- headers, which the signature does not cover.
    const batch = hasMediaType(request, BATCH_CONTENT_TYPE);
    if (!batch && !hasMediaType(request, STRUCTURED_CONTENT_TYPE)) {
      return problem(415, "UNSUPPORTED_MEDIA_TYPE", `send a structured-mode CloudEvent (content-type: ${STRUCTURED_CONTENT_TYPE})`);
    }
    const unsigned = [...request.headers.keys()].find((name) => name.startsWith("ce-"));
    if (unsigned !== undefined) {
      return problem(400, "INVALID_CLOUDEVENT", "ce- headers are not signed: send every attribute in the structured body", unsigned);
    }
    try {
      const body = await readLimitedText(request, settings.maxBodyBytes);
      const verified = verifyBodySignature(signed, body);
      if (!verified.ok) return problem(401, verified.code, verified.message);
      const context = { domain: options.domain, validator, settings, keyId: signed.keyId };
      if (batch) {
        const answered = await answerBatch(body, { ...context, maxBatchEvents: settings.maxBatchEvents }, store, database);
        return answered.ok ? json(207, { results: answered.results }) : answer(answered.refusal);
      }
      let raw: unknown;
      try {
        raw = JSON.parse(body);
      } catch (cause) {
        return problem(400, "INVALID_CLOUDEVENT", `not a structured Sguild CloudEvent: ${String((cause as Error)?.message).slice(0, 200)}`);
      }
      const checked = checkEvent(raw, context);
      if (!checked.ok) return answer(checked.refusal);
      const { event_id } = checked.event.envelope;
      const [outcome] = await store.storeMany(database, [checked.event]);
      if (outcome === "conflict") throw new EventIdConflictError(event_id);
      return json(202, { accepted: event_id });
    } catch (error) {
      const typed = refusalOf(error);
      if (typed) return answer(typed);
      logger.error({ err: error }, "dispatcher inbox failed");
      return problem(500, "INTERNAL", "internal error");
    }
  };
  return Object.assign(handler, { close: () => database.close() });
}
