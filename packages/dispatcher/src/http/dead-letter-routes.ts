import { SguildError } from "@sguild/contracts";
import type { Dispatcher } from "../dispatcher/dispatcher.js";
import { dispatcher as singleton } from "../dispatcher/singleton.js";
import type { DeadLetter } from "../dlq/index.js";
import { DispatcherConfigError, NoHandlerError } from "../errors/index.js";
import { silentLogger, type Logger } from "../observability/index.js";
import { authorization, type AuthorizationResult } from "./authorize.js";
import { DLQ_MAX_BODY_BYTES, bodyLimit, hasMediaType, readLimitedText } from "./body.js";
import { deadLetterResponseJson, json, problem } from "./responses.js";

export type { AuthorizationResult } from "./authorize.js";

export interface DeadLetterRoutesOptions {
  /**
   * Required: decides every request (the seed's requireSession). Only `true` or `{ allowed: true }` allows;
   * `false` or `{ allowed: false, status: 401 }` answers 401, anything else 403.
   */
  authorize: (request: Request) => AuthorizationResult | Promise<AuthorizationResult>;
  /** Default: the configured `dispatcher` singleton. Replay runs this dispatcher's handlers. */
  dispatcher?: Dispatcher;
  /** Default `/api/dispatcher/v1/dlq`. */
  basePath?: string;
  /** Largest POST body read, in bytes. Default 65536 (64 KiB); a larger one is answered 413. */
  maxBodyBytes?: number;
  /** Include `error_stack` (file paths of the consumer's code) in dead letters. Default false. */
  exposeErrorStack?: boolean;
  logger?: Logger;
}

const STATUS_BY_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  DEAD_LETTER_NOT_FOUND: 404,
  DEAD_LETTER_ALREADY_RESOLVED: 409,
  PAYLOAD_TOO_LARGE: 413,
};

// Control characters (NUL among them) are refused in names; a note may hold tabs and line breaks.
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * The dead-letter routes as one Web-standard handler (Request -> Response): mount it in a Next.js
 * route handler, Hono, or Node's http through `toNodeHandler`.
 *   GET  {base}?consumer=&include_resolved=&limit=&group=   GET {base}/{id}
 *   POST {base}/{id}/resolve { resolved_by, resolution_note? }   POST {base}/{id}/replay { replayed_by }
 * POST bodies must be `application/json` (415 otherwise: no cross-site simple request reaches an
 * action) and at most `maxBodyBytes` (413).
 */
export function createDeadLetterRoutes(options: DeadLetterRoutesOptions): (request: Request) => Promise<Response> {
  if (typeof options?.authorize !== "function") {
    throw new DispatcherConfigError("createDeadLetterRoutes needs an authorize(request) hook: the routes are never served without one", "authorize");
  }
  const base = (options.basePath ?? "/api/dispatcher/v1/dlq").replace(/\/+$/, "");
  const maxBodyBytes = bodyLimit(options.maxBodyBytes, DLQ_MAX_BODY_BYTES, "createDeadLetterRoutes");
  const logger = options.logger ?? silentLogger;
  const target = () => options.dispatcher ?? singleton;
  const view = (d: DeadLetter) => deadLetterResponseJson(d, options.exposeErrorStack === true);

  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return problem(404, "ROUTE_NOT_FOUND", `no route ${url.pathname}`);
    const denied = await authorization(options.authorize, request, logger);
    if (denied) return denied;
    const parts = url.pathname.slice(base.length).split("/").filter(Boolean);
    try {
      if (parts.length === 0) return request.method === "GET" ? await list(target(), url, view) : notAllowed("GET");
      const [id, action] = parts;
      if (parts.length === 1) return request.method === "GET" ? json(200, { dead_letter: view(await target().deadLetters.get(id!)) }) : notAllowed("GET");
      if (parts.length !== 2 || (action !== "resolve" && action !== "replay")) return problem(404, "ROUTE_NOT_FOUND", `no route ${url.pathname}`);
      if (request.method !== "POST") return notAllowed("POST");
      if (!hasMediaType(request, "application/json")) return problem(415, "UNSUPPORTED_MEDIA_TYPE", "POST bodies must be sent as content-type: application/json");
      const body = await readBody(request, maxBodyBytes);
      if (body instanceof Response) return body;
      return action === "resolve" ? await resolve(target(), id!, body, view) : await replay(target(), id!, body, view);
    } catch (error) {
      if (SguildError.isInstance(error) && STATUS_BY_CODE[error.code]) {
        const field = typeof error.details?.["argument"] === "string" ? (error.details["argument"] as string) : undefined;
        return problem(STATUS_BY_CODE[error.code]!, error.code, error.message, field && toSnake(field));
      }
      logger.error({ err: error, path: url.pathname }, "dispatcher DLQ route failed");
      return problem(500, "INTERNAL", "internal error");
    }
  };
}

const notAllowed = (allow: string) => new Response(JSON.stringify({ error: { code: "METHOD_NOT_ALLOWED", message: `use ${allow}` } }), {
  status: 405,
  headers: { allow, "content-type": "application/json; charset=utf-8" },
});

const toSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

async function readBody(request: Request, maxBodyBytes: number): Promise<Record<string, unknown> | Response> {
  const text = await readLimitedText(request, maxBodyBytes);
  if (text.trim() === "") return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return problem(400, "INVALID_JSON", "the body must be a JSON object");
}

/** A required name (consumer, resolved_by, replayed_by): a non-empty string without control characters. */
function badName(value: unknown, field: string): Response | undefined {
  if (typeof value === "string" && CONTROL.test(value)) return problem(400, "INVALID_ARGUMENT", `${field} must not contain control characters`, field);
  if (typeof value !== "string" || value.trim() === "") return problem(400, "INVALID_ARGUMENT", `${field} is required`, field);
  return undefined;
}

type View = (d: DeadLetter) => Record<string, unknown>;

async function list(d: Dispatcher, url: URL, view: View): Promise<Response> {
  const consumer = url.searchParams.get("consumer");
  const bad = badName(consumer, "consumer");
  if (bad) return bad;
  const flag = url.searchParams.get("include_resolved");
  if (flag !== null && flag !== "true" && flag !== "false") return problem(400, "INVALID_ARGUMENT", "include_resolved must be true or false", "include_resolved");
  const limitText = url.searchParams.get("limit");
  const limit = limitText === null ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
    return problem(400, "INVALID_ARGUMENT", "limit must be an integer from 1 to 1000", "limit");
  }
  if (url.searchParams.get("group") === "true") {
    const groups = await d.deadLetters.groups(consumer!);
    return json(200, {
      groups: groups.map((g) => ({ fingerprint: g.fingerprint, error_class: g.errorClass, sample_message: g.sampleMessage, event_types: g.eventTypes, count: g.count,
        first_failed_at: g.firstFailedAt.toISOString(), last_failed_at: g.lastFailedAt.toISOString() })),
    });
  }
  const rows = await d.deadLetters.list(consumer!, { includeResolved: flag === "true", limit });
  return json(200, { dead_letters: rows.map(view) });
}

async function resolve(d: Dispatcher, id: string, body: Record<string, unknown>, view: View): Promise<Response> {
  const bad = badName(body["resolved_by"], "resolved_by");
  if (bad) return bad;
  const note = body["resolution_note"];
  if (note !== undefined && note !== null && typeof note !== "string") return problem(400, "INVALID_ARGUMENT", "resolution_note must be a string", "resolution_note");
  if (typeof note === "string" && CONTROL_IN_TEXT.test(note)) return problem(400, "INVALID_ARGUMENT", "resolution_note must not contain control characters other than tabs and line breaks", "resolution_note");
  const resolved = await d.deadLetters.resolve(id, { resolvedBy: body["resolved_by"] as string, resolutionNote: (note as string | null | undefined) ?? undefined });
  return json(200, { dead_letter: view(resolved) });
}

async function replay(d: Dispatcher, id: string, body: Record<string, unknown>, view: View): Promise<Response> {
  const bad = badName(body["replayed_by"], "replayed_by");
  if (bad) return bad;
  const replayedBy = body["replayed_by"] as string;
  try {
    const result = await d.deadLetters.replay(id, { replayedBy });
    const error = result.error instanceof Error ? { class: result.error.name, message: result.error.message } : undefined;
    // "requested": another process (the letter's consumer) replays it.
    const status = (result.outcome as string) === "requested" ? 202 : 200;
    return json(status, { outcome: result.outcome, dead_letter: view(result.deadLetter), ...(error ? { error } : {}) });
  } catch (error) {
    if (!(error instanceof NoHandlerError)) throw error;
    // This process does not consume that type: hand the replay to the consumer that does.
    const requested = await d.deadLetters.requestReplay(id, { requestedBy: replayedBy });
    return json(202, { outcome: "requested", dead_letter: view(requested) });
  }
}
