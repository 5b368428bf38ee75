import { CloudEvent, HTTP } from "cloudevents";
import type { EventEnvelope } from "../envelope/index.js";
import { InvalidArgumentError } from "../errors/index.js";

const ID_BASE = "https://contracts.sguild/";

/**
 * Our envelope as a CloudEvents 1.0 event: id, type, source (`urn:sguild:<producer>`), time,
 * subject and dataschema from the envelope; tenant, correlation, actor, schema version and W3C
 * trace context as extensions. `fromCloudEvent` inverts it exactly.
 */
export function toCloudEvent(envelope: EventEnvelope, options: { traceContext?: Record<string, string>; dataschema?: string } = {}): CloudEvent<unknown> {
  const attributes: Record<string, unknown> = {
    specversion: "1.0",
    id: envelope.event_id,
    type: envelope.event_type,
    source: `urn:sguild:${envelope.producer}`,
    time: envelope.occurred_at,
    datacontenttype: "application/json",
    data: envelope.payload,
    tenantid: envelope.tenant_id,
    schemaversion: envelope.schema_version,
  };
  if (options.dataschema) attributes["dataschema"] = options.dataschema;
  if (envelope.subject !== undefined) attributes["subject"] = envelope.subject;
  if (envelope.actor !== undefined) attributes["actor"] = envelope.actor;
  if (envelope.correlation_id !== undefined) attributes["correlationid"] = envelope.correlation_id;
  if (options.traceContext?.["traceparent"]) attributes["traceparent"] = options.traceContext["traceparent"];
  if (options.traceContext?.["tracestate"]) attributes["tracestate"] = options.traceContext["tracestate"];
  return new CloudEvent(attributes, false);
}

export function fromCloudEvent(event: CloudEvent<unknown> | Record<string, unknown>): { envelope: EventEnvelope; traceContext?: Record<string, string> } {
  const e = event as Record<string, unknown>;
  const source = typeof e["source"] === "string" ? /^urn:sguild:([a-z]+)$/.exec(e["source"]) : null;
  if (!source) throw new InvalidArgumentError(`source must be urn:sguild:<producer> (got ${JSON.stringify(e["source"])})`, "source");
  const version = Number(e["schemaversion"]);
  const envelope: EventEnvelope = {
    event_id: String(e["id"]),
    event_type: String(e["type"]),
    occurred_at: String(e["time"]),
    tenant_id: String(e["tenantid"]),
    producer: source[1] as EventEnvelope["producer"],
    schema_version: Number.isInteger(version) ? version : (e["schemaversion"] as number),
    payload: e["data"],
  };
  if (typeof e["subject"] === "string") envelope.subject = e["subject"];
  if (typeof e["actor"] === "string") envelope.actor = e["actor"];
  if (typeof e["correlationid"] === "string") envelope.correlation_id = e["correlationid"];
  const traceContext: Record<string, string> = {};
  if (typeof e["traceparent"] === "string") traceContext["traceparent"] = e["traceparent"];
  if (typeof e["tracestate"] === "string") traceContext["tracestate"] = e["tracestate"];
  return Object.keys(traceContext).length ? { envelope, traceContext } : { envelope };
}

/** The structured-mode HTTP message (headers and JSON body) for an envelope. */
export function toStructuredHttp(envelope: EventEnvelope, options: { traceContext?: Record<string, string>; payloadSchemaPath?: string } = {}): { headers: Record<string, string>; body: string } {
  const dataschema = options.payloadSchemaPath ? ID_BASE + options.payloadSchemaPath.replace(/^contracts\//, "") : undefined;
  const message = HTTP.structured(toCloudEvent(envelope, { traceContext: options.traceContext, dataschema }));
  return { headers: message.headers as Record<string, string>, body: String(message.body) };
}

/**
 * Parses a structured-mode body into a CloudEvent (throws on a malformed one). `id` and `time` must be
 * in the body: the SDK would otherwise invent them, and they would be stored as the producer's.
 */
export function parseStructuredHttp(headers: Record<string, string>, body: string): CloudEvent<unknown> {
  const raw = JSON.parse(body) as unknown;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new InvalidArgumentError("the body must be one CloudEvent object", "body");
  for (const name of ["id", "time"]) {
    if (typeof (raw as Record<string, unknown>)[name] !== "string") throw new InvalidArgumentError(`the CloudEvent has no "${name}"`, name);
  }
  const event = HTTP.toEvent({ headers, body });
  if (Array.isArray(event)) throw new InvalidArgumentError("batched CloudEvents are not accepted", "body");
  return event as CloudEvent<unknown>;
}
