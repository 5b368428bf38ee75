import { CloudEvent, HTTP } from "cloudevents";
import type { EventEnvelope } from "../envelope/index.js";
import { InvalidArgumentError } from "../errors/index.js";

const ID_BASE = "https://contracts.sguild/";

/**
 * Our envelope as a CloudEvents 1.0 event: id, type, source (`urn:sguild:<producer>`), time,
 * subject and dataschema from the envelope; tenant, correlation, actor, schema version and W3C
 * trace context as extensions. `fromCloudEvent` inverts it exactly.
 */
export function toCloudEvent(
  envelope: EventEnvelope,
  options: { traceContext?: Record<string, string>; dataschema?: string } = {},
): CloudEvent<unknown> {
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

export function fromCloudEvent(event: CloudEvent<unknown> | Record<string, unknown>): {
  envelope: EventEnvelope;
  traceContext?: Record<string, string>;
} {
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

/** Structured mode: one CloudEvent as the JSON body. */
export const STRUCTURED_CONTENT_TYPE = "application/cloudevents+json";
/** Batched mode: a JSON array of structured CloudEvents as the body. */
export const BATCH_CONTENT_TYPE = "application/cloudevents-batch+json";

/** The CloudEvent `dataschema` of a payload schema path in the registry (`contracts/...`). */
export const dataschemaOf = (path: string | undefined) => (path ? ID_BASE + path.replace(/^contracts\//, "") : undefined);

/** An envelope with what its CloudEvent carries besides: the W3C trace context and the payload schema's path in the registry. */
export interface CloudEventSource {
  envelope: EventEnvelope;
  traceContext?: Record<string, string> | undefined;
  payloadSchemaPath?: string | undefined;
}

/** The structured-mode HTTP message (headers and JSON body) for an envelope. */
export function toStructuredHttp(
  envelope: EventEnvelope,
  options: { traceContext?: Record<string, string>; payloadSchemaPath?: string } = {},
): { headers: Record<string, string>; body: string } {
  const message = HTTP.structured(
    toCloudEvent(envelope, { traceContext: options.traceContext, dataschema: dataschemaOf(options.payloadSchemaPath) }),
  );
  return { headers: message.headers as Record<string, string>, body: String(message.body) };
}

/** The JSON of one event's structured CloudEvent: the body `toStructuredHttp` sends, and an element of a batch. */
export function toStructuredJson({ envelope, traceContext, payloadSchemaPath }: CloudEventSource): string {
  return toCloudEvent(envelope, { traceContext, dataschema: dataschemaOf(payloadSchemaPath) }).toString();
}

/** The batched-mode HTTP message for events, in their order: a JSON array of their structured CloudEvents. */
export function toBatchHttp(events: readonly CloudEventSource[]): { headers: Record<string, string>; body: string } {
  return { headers: { "content-type": BATCH_CONTENT_TYPE }, body: `[${events.map(toStructuredJson).join(",")}]` };
}

/**
 * Parses a structured-mode body into a CloudEvent (throws on a malformed one). `id` and `time` must be
 * in the body: the SDK would otherwise invent them, and they would be stored as the producer's.
 */
export function parseStructuredHttp(headers: Record<string, string>, body: string): CloudEvent<unknown> {
  return parseStructuredObject(JSON.parse(body) as unknown, headers);
}

/** One structured CloudEvent already parsed from JSON (the body, or an element of a batch), checked as `parseStructuredHttp` checks it. */
export function parseStructuredObject(
  raw: unknown,
  headers: Record<string, string> = { "content-type": STRUCTURED_CONTENT_TYPE },
): CloudEvent<unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new InvalidArgumentError("the body must be one CloudEvent object", "body");
  for (const name of ["id", "time"]) {
    if (typeof (raw as Record<string, unknown>)[name] !== "string") throw new InvalidArgumentError(`the CloudEvent has no "${name}"`, name);
  }
  // The SDK takes the parsed object as it takes the text: the same attribute parsers, no second JSON.parse.
  // It builds its ValidationErrors before knowing whether it will throw them (three per event); their
  // stacks were most of an inbox's time per event, and only their messages are used.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let event: ReturnType<typeof HTTP.toEvent<unknown>>;
  try {
    event = HTTP.toEvent({ headers, body: raw as Record<string, unknown> });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (Array.isArray(event)) throw new InvalidArgumentError("batched CloudEvents are not accepted", "body");
  return event as CloudEvent<unknown>;
}
