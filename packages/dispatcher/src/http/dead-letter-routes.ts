import { SguildError } from "@sguild/contracts";
import type { Dispatcher } from "../dispatcher/dispatcher.js";
import { dispatcher as singleton } from "../dispatcher/singleton.js";
import { DispatcherConfigError, NoHandlerError } from "../errors/index.js";
import { silentLogger, type Logger } from "../observability/index.js";
import { deadLetterJson, json, problem } from "./responses.js";

export type AuthorizationResult = boolean | { allowed: true } | { allowed: false; status: 401 | 403; reason?: string };

export interface DeadLetterRoutesOptions {
  /** Required: decides every request (the seed's requireSession). Return true/`{ allowed: true }`, or `{ allowed: false, status: 401 | 403 }`. */
  authorize: (request: Request) => AuthorizationResult | Promise<AuthorizationResult>;
  /** Default: the configured `dispatcher` singleton. Replay runs this dispatcher's handlers. */
  dispatcher?: Dispatcher;
  /** Default `/api/dispatcher/v1/dlq`. */
  basePath?: string;
  logger?: Logger;
}

const STATUS_BY_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  DEAD_LETTER_NOT_FOUND: 404,
  DEAD_LETTER_ALREADY_RESOLVED: 409,
};

/**
 * The dead-letter routes as one Web-standard handler (Request -> Response): mount it in a Next.js
 * route handler, Hono, or Node's http through `toNodeHandler`.
 *   GET  {base}?consumer=&include_resolved=&limit=&group=   GET {base}/{id}
 *   POST {base}/{id}/resolve { resolved_by, resolution_note? }   POST {base}/{id}/replay { replayed_by }
 */
export function createDeadLetterRoutes(options: DeadLetterRoutesOptions): (request: Request) => Promise<Response> {
  if (typeof options?.authorize !== "function") {
    throw new DispatcherConfigError("createDeadLetterRoutes needs an authorize(request) hook: the routes are never served without one", "authorize");
  }
  const base = (options.basePath ?? "/api/dispatcher/v1/dlq").replace(/\/+$/, "");
  const logger = options.logger ?? silentLogger;
  const target = () => options.dispatcher ?? singleton;

  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return problem(404, "ROUTE_NOT_FOUND", `no route ${url.pathname}`);
    const denied = await authorization(options.authorize, request);
    if (denied) return denied;
    const parts = url.pathname.slice(base.length).split("/").filter(Boolean);
    try {
      if (parts.length === 0) return request.method === "GET" ? await list(target(), url) : notAllowed("GET");
      const [id, action] = parts;
      if (parts.length === 1) return request.method === "GET" ? json(200, { dead_letter: deadLetterJson(await target().deadLetters.get(id!)) }) : notAllowed("GET");
      if (parts.length !== 2 || (action !== "resolve" && action !== "replay")) return problem(404, "ROUTE_NOT_FOUND", `no route ${url.pathname}`);
      if (request.method !== "POST") return notAllowed("POST");
      const body = await readBody(request);
      if (body instanceof Response) return body;
      return action === "resolve" ? await resolve(target(), id!, body) : await replay(target(), id!, body);
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

async function authorization(authorize: DeadLetterRoutesOptions["authorize"], request: Request): Promise<Response | undefined> {
  let result: AuthorizationResult;
  try {
    result = await authorize(request);
  } catch {
    return problem(401, "UNAUTHORIZED", "authorization failed");
  }
  if (result === true || (typeof result === "object" && result.allowed)) return undefined;
  const status = typeof result === "object" && !result.allowed ? result.status : 401;
  const reason = typeof result === "object" && !result.allowed && result.reason ? result.reason : status === 403 ? "forbidden" : "authentication required";
  return problem(status, status === 403 ? "FORBIDDEN" : "UNAUTHORIZED", reason);
}

const notAllowed = (allow: string) => new Response(JSON.stringify({ error: { code: "METHOD_NOT_ALLOWED", message: `use ${allow}` } }), {
  status: 405,
  headers: { allow, "content-type": "application/json; charset=utf-8" },
});

const toSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

async function readBody(request: Request): Promise<Record<string, unknown> | Response> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return problem(400, "INVALID_JSON", "the body must be a JSON object");
}

async function list(d: Dispatcher, url: URL): Promise<Response> {
  const consumer = url.searchParams.get("consumer");
  if (!consumer) return problem(400, "INVALID_ARGUMENT", "consumer is required", "consumer");
  const flag = url.searchParams.get("include_resolved");
  if (flag !== null && flag !== "true" && flag !== "false") return problem(400, "INVALID_ARGUMENT", "include_resolved must be true or false", "include_resolved");
  const limitText = url.searchParams.get("limit");
  const limit = limitText === null ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
    return problem(400, "INVALID_ARGUMENT", "limit must be an integer from 1 to 1000", "limit");
  }
  if (url.searchParams.get("group") === "true") {
    const groups = await d.deadLetters.groups(consumer);
    return json(200, {
      groups: groups.map((g) => ({ fingerprint: g.fingerprint, error_class: g.errorClass, sample_message: g.sampleMessage, event_types: g.eventTypes, count: g.count,
        first_failed_at: g.firstFailedAt.toISOString(), last_failed_at: g.lastFailedAt.toISOString() })),
    });
  }
  const rows = await d.deadLetters.list(consumer, { includeResolved: flag === "true", limit });
  return json(200, { dead_letters: rows.map(deadLetterJson) });
}

async function resolve(d: Dispatcher, id: string, body: Record<string, unknown>): Promise<Response> {
  if (typeof body["resolved_by"] !== "string" || body["resolved_by"].trim() === "") return problem(400, "INVALID_ARGUMENT", "resolved_by is required", "resolved_by");
  const note = body["resolution_note"];
  if (note !== undefined && note !== null && typeof note !== "string") return problem(400, "INVALID_ARGUMENT", "resolution_note must be a string", "resolution_note");
  const resolved = await d.deadLetters.resolve(id, { resolvedBy: body["resolved_by"], resolutionNote: (note as string | null | undefined) ?? undefined });
  return json(200, { dead_letter: deadLetterJson(resolved) });
}

async function replay(d: Dispatcher, id: string, body: Record<string, unknown>): Promise<Response> {
  if (typeof body["replayed_by"] !== "string" || body["replayed_by"].trim() === "") return problem(400, "INVALID_ARGUMENT", "replayed_by is required", "replayed_by");
  try {
    const result = await d.deadLetters.replay(id, { replayedBy: body["replayed_by"] });
    const error = result.error instanceof Error ? { class: result.error.name, message: result.error.message } : undefined;
    return json(200, { outcome: result.outcome, dead_letter: deadLetterJson(result.deadLetter), ...(error ? { error } : {}) });
  } catch (error) {
    if (!(error instanceof NoHandlerError)) throw error;
    // This process does not consume that type: hand the replay to the consumer that does.
    const requested = await d.deadLetters.requestReplay(id, { requestedBy: body["replayed_by"] });
    return json(202, { outcome: "requested", dead_letter: deadLetterJson(requested) });
  }
}
