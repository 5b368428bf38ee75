import { DispatcherConfigError, PermanentFailureError, RetryLaterError } from "../errors/index.js";
import { INBOX_MAX_BODY_BYTES } from "../http/body.js";
import { batchingDestination, type Destination, type OutgoingEvent, type Transport } from "./batching.js";
import { BATCH_CONTENT_TYPE, toStructuredHttp, toStructuredJson } from "./cloud-event.js";
import { INBOX_MAX_BATCH_EVENTS } from "./inbox-options.js";
import { signBody } from "./signature.js";
import { DEFAULTS } from "../config/defaults.js";

export interface HttpDestinationConfig {
  kind: "http";
  url: string;
  key: { id: string; secret: string };
  timeoutMs?: number;
  /** Largest batch body, in bytes: the inbox's `maxBodyBytes`. Default 1048576 (the inbox's default). */
  maxBatchBytes?: number;
  /** Most events in one batch: the inbox's `maxBatchEvents`. Default 1000 (the inbox's default). */
  maxBatchEvents?: number;
}

/** After a 415 to a batch (an inbox that predates batched mode), events go alone for this long before batching is tried again. */
const BATCH_RETRY_MS = DEFAULTS.fanout.batchRefusedRetryMs;

const retryable = (status: number) => status >= 500 || status === 408 || status === 429 || status < 200;

interface EventResult {
  id: unknown;
  status: unknown;
  error?: { code?: unknown; message?: unknown };
}

const positive = (value: number | undefined, fallback: number, setting: string): number => {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new DispatcherConfigError(`http destination ${setting} must be a positive integer (got ${String(value)})`, setting);
  return value;
};

/**
 * POSTs signed CloudEvents to the consumer domain's inbox (see batchingDestination for which events
 * travel together): an event alone in structured mode, several in batched mode
 * (`application/cloudevents-batch+json`, one signature over the whole array), cut to `maxBatchBytes`
 * and `maxBatchEvents`, one request after the other. A 4xx is permanent (but 408/429), anything else
 * is retried; a batch is accepted when the inbox answers 207 with 2xx for each of its events (or any
 * other 2xx, a receiver that answers for the batch as a whole).
 */
export function httpDestination(config: HttpDestinationConfig): Destination {
  const maxBytes = positive(config.maxBatchBytes, INBOX_MAX_BODY_BYTES, "maxBatchBytes");
  const maxEvents = positive(config.maxBatchEvents, INBOX_MAX_BATCH_EVENTS, "maxBatchEvents");
  let batchesRefusedUntil = 0;

  const post = async (body: string, headers: Record<string, string>): Promise<Response> => {
    try {
      return await fetch(config.url, {
        method: "POST",
        headers: { ...headers, ...signBody(body, config.key) },
        body,
        signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new RetryLaterError(`inbox ${config.url} unreachable: ${(error as Error).message}`, undefined, { cause: error });
    }
  };
  const refusedWhole = async (response: Response, what: string): Promise<Error> => {
    const text = (await response.text()).slice(0, 500);
    if (retryable(response.status)) return new RetryLaterError(`inbox answered ${response.status}: ${text}`);
    return new PermanentFailureError(`inbox refused ${what} with ${response.status}: ${text}`, { details: { status: response.status } });
  };

  const sendRequest = async (events: OutgoingEvent[], bodies: string[]): Promise<void> => {
    const response = await post(`[${bodies.join(",")}]`, { "content-type": BATCH_CONTENT_TYPE });
    if (response.status === 415) {
      batchesRefusedUntil = Date.now() + BATCH_RETRY_MS;
      throw await refusedWhole(response, `a batch of ${events.length} events (it takes events one at a time from now on)`);
    }
    if (response.status !== 207) {
      if (response.ok) return void (await response.arrayBuffer());
      throw await refusedWhole(response, `a batch of ${events.length} events`);
    }
    const answer = (await response.json().catch(() => undefined)) as { results?: EventResult[] } | undefined;
    const results = answer?.results;
    if (!Array.isArray(results) || results.length !== events.length || results.some((r, i) => r?.id !== events[i]!.envelope.event_id)) {
      throw new RetryLaterError(`inbox answered 207 without one result per event of the batch, in order`);
    }
    const refused = results.filter((r) => typeof r.status !== "number" || r.status < 200 || r.status > 299);
    if (refused.length === 0) return;
    const listed = refused
      .slice(0, 3)
      .map((r) => `${String(r.id)} (${String(r.status)} ${String(r.error?.code ?? "")})`)
      .join(", ");
    const message = `inbox refused ${refused.length} of ${events.length} events of a batch: ${listed}${refused.length > 3 ? ", ..." : ""}`;
    throw refused.some((r) => typeof r.status !== "number" || retryable(r.status))
      ? new RetryLaterError(message)
      : new PermanentFailureError(message);
  };

  const transport: Transport = {
    async sendOne({ envelope, traceContext, payloadSchemaPath }) {
      const message = toStructuredHttp(envelope, { traceContext, payloadSchemaPath });
      const response = await post(message.body, message.headers);
      if (response.ok) return void (await response.arrayBuffer());
      throw await refusedWhole(response, envelope.event_id);
    },
    async sendBatch(events) {
      let from = 0;
      let bytes = 2;
      const bodies: string[] = [];
      for (const [i, e] of events.entries()) {
        const body = toStructuredJson(e);
        const size = Buffer.byteLength(body) + 1;
        if (bodies.length > 0 && (bytes + size > maxBytes || bodies.length >= maxEvents)) {
          await sendRequest(events.slice(from, i), bodies.splice(0));
          from = i;
          bytes = 2;
        }
        bodies.push(body);
        bytes += size;
      }
      await sendRequest(events.slice(from), bodies);
    },
    batching: () => Date.now() >= batchesRefusedUntil,
    close: async () => undefined,
  };
  return batchingDestination(config.url, transport);
}
