import { SguildError, type ContractValidator } from "@sguild/contracts";
import { errorField } from "../http/responses.js";
import { assertStorable, type StoredEvent } from "../producer/index.js";
import { fromCloudEvent, parseStructuredObject } from "./cloud-event.js";
import type { ResolvedInboxOptions } from "./inbox-options.js";

/** Why the inbox refused a request or one event of a batch: the status and the body's `error`. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  field?: string;
}

/** The status of each typed error the inbox answers with; any other error is a 500. */
export const REFUSAL_STATUS: Readonly<Record<string, number>> = {
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

export const refusal = (status: number, code: string, message: string, field?: string): Refusal =>
  field === undefined ? { status, code, message } : { status, code, message, field };

/** The refusal a typed error stands for, or undefined for an unexpected one (answered 500). */
export function refusalOf(error: unknown): Refusal | undefined {
  if (!SguildError.isInstance(error)) return undefined;
  const status = REFUSAL_STATUS[error.code];
  return status === undefined ? undefined : refusal(status, error.code, error.message, errorField(error));
}

export interface EventCheckContext {
  domain: string;
  validator: ContractValidator;
  settings: ResolvedInboxOptions;
  /** The key that signed the request: a key bound to a producer signs that producer's events only. */
  keyId: string;
}

/**
 * The checks of one event, in the order the inbox runs them for a single event and for each event of
 * a batch: a structured Sguild CloudEvent, this domain consuming the type, the envelope, the registered
 * producer, the key's producer, the tenant, the payload, and what PostgreSQL can store. Returns the
 * event to store or its refusal; an unexpected error is thrown.
 */
export function checkEvent(raw: unknown, context: EventCheckContext): { ok: true; event: StoredEvent } | { ok: false; refusal: Refusal } {
  let parsed: StoredEvent;
  try {
    parsed = fromCloudEvent(parseStructuredObject(raw));
  } catch (cause) {
    return {
      ok: false,
      refusal: refusal(
        400,
        "INVALID_CLOUDEVENT",
        `not a structured Sguild CloudEvent: ${String((cause as Error)?.message).slice(0, 200)}`,
        errorField(cause),
      ),
    };
  }
  try {
    const found = validate(parsed, context);
    return found ? { ok: false, refusal: found } : { ok: true, event: parsed };
  } catch (error) {
    const typed = refusalOf(error);
    if (typed) return { ok: false, refusal: typed };
    throw error;
  }
}

function validate({ envelope, traceContext }: StoredEvent, { domain, validator, settings, keyId }: EventCheckContext): Refusal | undefined {
  const registration = validator.registry.getRegistration(envelope.event_type);
  if (!(registration.consumers as string[]).includes(domain)) {
    return refusal(403, "NOT_A_CONSUMER", `the registry does not list "${domain}" as a consumer of "${envelope.event_type}"`);
  }
  validator.assertEnvelope(envelope);
  if (registration.producer !== envelope.producer) {
    return refusal(
      403,
      "PRODUCER_MISMATCH",
      `"${envelope.event_type}" is produced by "${registration.producer}" per the registry, not "${envelope.producer}"`,
    );
  }
  const keyProducer = settings.keyProducers[keyId];
  if (keyProducer !== undefined && keyProducer !== envelope.producer) {
    return refusal(403, "PRODUCER_MISMATCH", `key "${keyId}" signs events of "${keyProducer}" only, not "${envelope.producer}"`);
  }
  if (!settings.tenants.has(envelope.tenant_id)) {
    return refusal(403, "TENANT_NOT_ALLOWED", `tenant ${JSON.stringify(envelope.tenant_id).slice(0, 100)} is not one this inbox accepts`);
  }
  validator.assertPayload(envelope.event_type, envelope.schema_version, envelope.payload);
  assertStorable(envelope, traceContext, { registry: validator.registry, envelopeChecked: false });
  return undefined;
}
