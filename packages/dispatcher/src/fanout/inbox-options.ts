import type { Domain } from "@sguild/contracts";
import { DispatcherConfigError } from "../errors/index.js";
import { INBOX_MAX_BODY_BYTES, bodyLimit } from "../http/body.js";
import { DEFAULTS } from "../config/defaults.js";

/** Default largest number of events in one batched request. */
export const INBOX_MAX_BATCH_EVENTS = DEFAULTS.inbox.maxBatchEvents;

/** A signing key bound to one producer domain: events signed with it must come from that producer. */
export interface InboxKey {
  secret: string;
  producer: Domain;
}

export interface ResolvedInboxOptions {
  secrets: Record<string, string>;
  keyProducers: Record<string, string>;
  tenants: ReadonlySet<string>;
  toleranceMs: number;
  maxBodyBytes: number;
  maxBatchEvents: number;
}

/** Checks createInbox's keys, tenants and limits once; a missing or malformed one throws DispatcherConfigError naming it. */
export function resolveInboxOptions(options: {
  keys?: Readonly<Record<string, string | InboxKey>>;
  tenants?: readonly string[];
  toleranceMs?: number;
  maxBodyBytes?: number;
  maxBatchEvents?: number;
}): ResolvedInboxOptions {
  if (!options?.keys || Object.keys(options.keys).length === 0)
    throw new DispatcherConfigError("createInbox needs at least one signing key", "keys");
  const secrets: Record<string, string> = {};
  const keyProducers: Record<string, string> = {};
  for (const [id, key] of Object.entries(options.keys)) {
    const secret = typeof key === "string" ? key : key?.secret;
    if (typeof secret !== "string" || secret === "") throw new DispatcherConfigError(`signing key "${id}" has no secret`, "keys");
    secrets[id] = secret;
    const producer: unknown = typeof key === "string" ? undefined : key.producer;
    if (producer !== undefined) {
      if (typeof producer !== "string" || producer === "")
        throw new DispatcherConfigError(`signing key "${id}": producer must be a domain name`, "keys");
      keyProducers[id] = producer;
    }
  }
  const fromEnv = process.env["DISPATCHER_TENANT_ID"];
  const tenants = options.tenants ?? (fromEnv ? [fromEnv] : []);
  if (!Array.isArray(tenants) || tenants.length === 0 || tenants.some((t) => typeof t !== "string" || t === "")) {
    throw new DispatcherConfigError(
      "createInbox needs tenants: the tenant ids whose events it accepts (default: [DISPATCHER_TENANT_ID] when that is set)",
      "tenants",
    );
  }
  const toleranceMs = options.toleranceMs ?? DEFAULTS.inbox.toleranceMs;
  if (!Number.isFinite(toleranceMs) || toleranceMs <= 0)
    throw new DispatcherConfigError(`toleranceMs must be a positive number of milliseconds (got ${String(toleranceMs)})`, "toleranceMs");
  const maxBatchEvents = options.maxBatchEvents ?? INBOX_MAX_BATCH_EVENTS;
  if (!Number.isSafeInteger(maxBatchEvents) || maxBatchEvents < 1) {
    throw new DispatcherConfigError(
      `createInbox maxBatchEvents must be a positive integer (got ${String(maxBatchEvents)})`,
      "maxBatchEvents",
    );
  }
  return {
    secrets,
    keyProducers,
    tenants: new Set(tenants),
    toleranceMs,
    maxBodyBytes: bodyLimit(options.maxBodyBytes, INBOX_MAX_BODY_BYTES, "createInbox"),
    maxBatchEvents,
  };
}
