import { v7 as uuidv7 } from "uuid";
import type { ContractValidator } from "@sguild/contracts";
import type { EventEnvelope } from "../envelope/index.js";
import {
  EnvelopeValidationError,
  InvalidArgumentError,
  PayloadValidationError,
  ProducerMismatchError,
  type ValidationIssue,
} from "../errors/index.js";
import { inheritedCorrelationId } from "./correlation.js";
import { envelopeStorageIssues, payloadSchema, payloadStorageIssues } from "./storable.js";

export interface EmitInput {
  event_type: string;
  payload: unknown;
  schema_version?: number;
  subject?: string;
  actor?: string;
  correlation_id?: string;
  occurred_at?: string | Date;
}

export interface EnvelopeContext {
  producer: string;
  tenantId: string;
  validator: ContractValidator;
}

/** The fields a publish takes; the dispatcher sets event_id, tenant_id and producer itself. */
const EMIT_FIELDS = ["event_type", "payload", "schema_version", "subject", "actor", "correlation_id", "occurred_at"];

/** Envelopes built here passed every storability check already; writers need not walk them again. */
export const checkedEnvelopes = new WeakSet<EventEnvelope>();

/**
 * Resolves registration and version, builds the envelope and validates it and its payload: the
 * contract (JSON Schema) and what PostgreSQL can store (see storable.ts).
 * Throws a typed error (and nothing is written) on any refusal.
 */
export function buildEnvelope(emit: EmitInput, context: EnvelopeContext): EventEnvelope {
  if (typeof emit !== "object" || emit === null) throw new InvalidArgumentError("publish takes an emit object", "emit");
  if (typeof emit.event_type !== "string") throw new InvalidArgumentError("emit.event_type must be a string", "event_type");
  // A field a publish does not take is refused, not dropped: a tenant_id or an event_id given here
  // would otherwise be silently replaced (plain JavaScript has no compiler to say so).
  const unknown = Object.keys(emit).find(
    (key) => !EMIT_FIELDS.includes(key) && (emit as unknown as Record<string, unknown>)[key] !== undefined,
  );
  if (unknown !== undefined) {
    const own = ["event_id", "tenant_id", "producer"].includes(unknown) ? ` (the dispatcher sets ${unknown} itself)` : "";
    throw new InvalidArgumentError(`emit.${unknown} is not a publish field${own}: a publish takes ${EMIT_FIELDS.join(", ")}`, unknown);
  }
  if (emit.schema_version !== undefined && !(Number.isInteger(emit.schema_version) && emit.schema_version > 0)) {
    throw new InvalidArgumentError(
      `emit.schema_version must be a positive integer (got ${JSON.stringify(emit.schema_version)})`,
      "schema_version",
    );
  }
  const registry = context.validator.registry;
  const registration = registry.getRegistration(emit.event_type);
  if (registration.producer !== context.producer) {
    throw new ProducerMismatchError(emit.event_type, registration.producer, context.producer);
  }
  const schemaVersion = emit.schema_version ?? registry.resolveSchemaVersion(emit.event_type);
  registry.getSchemaVersion(emit.event_type, schemaVersion);
  const invalidDate = emit.occurred_at instanceof Date && Number.isNaN(emit.occurred_at.getTime());
  const occurredAt =
    emit.occurred_at instanceof Date
      ? invalidDate
        ? "Invalid Date"
        : emit.occurred_at.toISOString()
      : (emit.occurred_at ?? new Date().toISOString());
  const envelope: EventEnvelope = {
    event_id: `evt_${uuidv7()}`,
    event_type: emit.event_type,
    occurred_at: occurredAt,
    tenant_id: context.tenantId,
    producer: context.producer as EventEnvelope["producer"],
    schema_version: schemaVersion,
    payload: emit.payload,
    actor: emit.actor ?? `system:${context.producer}`,
  };
  if (emit.subject !== undefined) envelope.subject = emit.subject;
  const correlationId = emit.correlation_id ?? inheritedCorrelationId();
  if (correlationId !== undefined) envelope.correlation_id = correlationId;
  const envelopeIssues: ValidationIssue[] = context.validator
    .envelopeIssues(envelope)
    .filter((i) => !(invalidDate && i.path === "/occurred_at"));
  if (invalidDate)
    envelopeIssues.unshift({
      path: "/occurred_at",
      keyword: "format",
      message: "must be a valid Date: this one is Invalid Date (its time value is NaN)",
    });
  envelopeIssues.push(...envelopeStorageIssues(envelope));
  if (envelopeIssues.length > 0) throw new EnvelopeValidationError(envelopeIssues);
  const payloadIssues = [
    ...context.validator.payloadIssues(emit.event_type, schemaVersion, emit.payload),
    ...payloadStorageIssues(emit.payload, payloadSchema(registry, emit.event_type, schemaVersion)),
  ];
  if (payloadIssues.length > 0) throw new PayloadValidationError(emit.event_type, schemaVersion, payloadIssues);
  checkedEnvelopes.add(envelope);
  return envelope;
}
