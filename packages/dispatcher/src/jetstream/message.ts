import { PermanentFailureError } from "../errors/index.js";
import { dataschemaOf, STRUCTURED_CONTENT_TYPE, type CloudEventSource } from "../fanout/cloud-event.js";
import { checkEvent, refusal, type EventCheckContext, type Refusal } from "../fanout/inbox-checks.js";
import type { StoredEvent } from "../producer/index.js";
import { SUBJECT_TOKEN, subjectFor } from "./config.js";

/** One event as a JetStream message: its subject, headers and body. */
export interface OutgoingMessage {
  subject: string;
  /** Content type and the CloudEvents attributes as `ce-` headers (NATS protocol binding), W3C trace context. */
  headers: Array<[string, string]>;
  /** The structured-mode CloudEvent (JSON), the same the HTTP relay sends: what the inbox reads. */
  body: string;
}

/**
 * The message for an event: subject `<prefix>.<tenant>.<producer>.<event_type>`, the structured
 * CloudEvent as the body (application/cloudevents+json) and its main attributes as `ce-` headers, so
 * that readers can route on them without parsing the body. A tenant id that is not one subject token
 * cannot be routed: PermanentFailureError (the relay dead-letters the event).
 */
export function toJetStreamMessage(event: CloudEventSource, prefix: string): OutgoingMessage {
  const { envelope, traceContext, payloadSchemaPath } = event;
  if (!SUBJECT_TOKEN.test(envelope.tenant_id)) {
    throw new PermanentFailureError(
      `tenant id ${JSON.stringify(envelope.tenant_id).slice(0, 80)} is not a NATS subject token (letters, digits, "_" and "-")`,
      { details: { tenantId: envelope.tenant_id } },
    );
  }
  const headers: Array<[string, string]> = [
    ["content-type", STRUCTURED_CONTENT_TYPE],
    ["ce-specversion", "1.0"],
    ["ce-id", envelope.event_id],
    ["ce-type", envelope.event_type],
    ["ce-source", `urn:sguild:${envelope.producer}`],
    ["ce-time", envelope.occurred_at],
  ];
  const dataschema = dataschemaOf(payloadSchemaPath);
  if (dataschema) headers.push(["ce-dataschema", dataschema]);
  if (traceContext?.["traceparent"]) headers.push(["traceparent", traceContext["traceparent"]]);
  if (traceContext?.["tracestate"]) headers.push(["tracestate", traceContext["tracestate"]]);
  return {
    subject: subjectFor(prefix, envelope.tenant_id, envelope.producer, envelope.event_type),
    headers,
    body: structuredJson(event, dataschema),
  };
}

/**
 * The structured CloudEvent of `toStructuredJson` (what the HTTP relay sends), written directly: the
 * CloudEvents SDK's object costs more than the publish on the relay's path. A test holds the two equal.
 */
function structuredJson({ envelope: e, traceContext }: CloudEventSource, dataschema: string | undefined): string {
  const event: Record<string, unknown> = {
    id: e.event_id,
    time: new Date(e.occurred_at).toISOString(),
    type: e.event_type,
    source: `urn:sguild:${e.producer}`,
    specversion: "1.0",
    datacontenttype: "application/json",
  };
  if (e.subject !== undefined) event["subject"] = e.subject;
  if (dataschema !== undefined) event["dataschema"] = dataschema;
  event["data"] = e.payload;
  event["tenantid"] = e.tenant_id;
  event["schemaversion"] = e.schema_version;
  if (e.actor !== undefined) event["actor"] = e.actor;
  if (e.correlation_id !== undefined) event["correlationid"] = e.correlation_id;
  if (traceContext?.["traceparent"]) event["traceparent"] = traceContext["traceparent"];
  if (traceContext?.["tracestate"]) event["tracestate"] = traceContext["tracestate"];
  return JSON.stringify(event);
}

/** The part of a received message the inbox reads. */
export interface IncomingMessage {
  subject: string;
  data: Uint8Array;
  header(name: string): string | undefined;
}

const decoder = new TextDecoder();

/**
 * The inbox's checks of one message: the signed inbox's checks of its body (checkEvent: a structured
 * Sguild CloudEvent, this domain consuming the type, envelope, registered producer, tenant, payload,
 * storable), then that the subject is the event's own and the `ce-id` header, when present, its id.
 */
export function checkMessage(
  message: IncomingMessage,
  context: EventCheckContext & { prefix: string },
): { ok: true; event: StoredEvent } | { ok: false; refusal: Refusal } {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(message.data));
  } catch (cause) {
    return {
      ok: false,
      refusal: refusal(400, "INVALID_CLOUDEVENT", `not a structured Sguild CloudEvent: ${String((cause as Error)?.message).slice(0, 200)}`),
    };
  }
  const checked = checkEvent(raw, context);
  if (!checked.ok) return checked;
  const { envelope } = checked.event;
  const subject = subjectFor(context.prefix, envelope.tenant_id, envelope.producer, envelope.event_type);
  if (message.subject !== subject) {
    return {
      ok: false,
      refusal: refusal(400, "SUBJECT_MISMATCH", `event ${envelope.event_id} belongs on ${subject}, not ${message.subject}`),
    };
  }
  const ceId = message.header("ce-id");
  if (ceId !== undefined && ceId !== "" && ceId !== envelope.event_id) {
    return {
      ok: false,
      refusal: refusal(
        400,
        "INVALID_CLOUDEVENT",
        `the ce-id header (${ceId.slice(0, 80)}) is not the event's id (${envelope.event_id})`,
        "ce-id",
      ),
    };
  }
  return checked;
}
