import { SguildError } from "@sguild/contracts";
import type { Dispatcher } from "../dispatcher/dispatcher.js";
import { dispatcher as singleton } from "../dispatcher/singleton.js";
import type { DeadLetter } from "../dlq/index.js";
import { DispatcherConfigError, NoHandlerError } from "../errors/index.js";
import { defaultLogger, type Logger } from "../observability/index.js";
import { authorization, type AuthorizationResult } from "./authorize.js";
import { DLQ_MAX_BODY_BYTES, bodyLimit, hasMediaType, readLimitedText } from "./body.js";
import { jsonObject, listQuery, queryInput, replayBody, resolveBody, validate } from "./input.js";
import { deadLetterResponseJson, errorField, json, problem } from "./responses.js";

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

/**
 * The dead-letter routes as one Web-standard handler (Request -> Response): mount it in a Next.js
 * route handler, Hono, or Node's http through `toNodeHandler`.
 *   GET  {base}?consumer=&include_resolved=&limit=&group=   GET {base}/{id}
 *   POST {base}/{id}/resolve { resolved_by, resolution_note? }   POST {base}/{id}/replay { replayed_by }
 * POST bodies must be `application/json` (415 otherwise: no cross-site simple request reaches an
 * action) and at most `maxBodyBytes` (413). Query parameters and bodies are checked against the
 * schemas in input.ts: a refusal is 400 INVALID_ARGUMENT naming the field, an unparseable body 400
 * INVALID_JSON.
 */
export function createDeadLetterRoutes(options: DeadLetterRoutesOptions): (request: Request) => Promise<Response> {
  if (typeof options?.authorize !== "function") {
    throw new DispatcherConfigError(
      "createDeadLetterRoutes needs an authorize(request) hook: the routes are never served without one",
      "authorize",
    );
  }
  const base = (options.basePath ?? "/api/dispatcher/v1/dlq").replace(/\/+$/, "");
  const maxBodyBytes = bodyLimit(options.maxBodyBytes, DLQ_MAX_BODY_BYTES, "createDeadLetterRoutes");
  const logger = options.logger ?? defaultLogger();
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
      if (parts.length === 1)
        return request.method === "GET" ? json(200, { dead_letter: view(await target().deadLetters.get(id!)) }) : notAllowed("GET");
      if (parts.length !== 2 || (action !== "resolve" && action !== "replay"))
        return problem(404, "ROUTE_NOT_FOUND", `no route ${url.pathname}`);
      if (request.method !== "POST") return notAllowed("POST");
      if (!hasMediaType(request, "application/json"))
        return problem(415, "UNSUPPORTED_MEDIA_TYPE", "POST bodies must be sent as content-type: application/json");
      const body = jsonObject(await readLimitedText(request, maxBodyBytes));
      if (body instanceof Response) return body;
      return action === "resolve" ? await resolve(target(), id!, body, view) : await replay(target(), id!, body, view);
    } catch (error) {
      if (SguildError.isInstance(error) && STATUS_BY_CODE[error.code]) {
        return problem(STATUS_BY_CODE[error.code]!, error.code, error.message, errorField(error));
      }
      logger.error({ err: error, path: url.pathname }, "dispatcher DLQ route failed");
      return problem(500, "INTERNAL", "internal error");
    }
  };
}

const notAllowed = (allow: string) =>
  new Response(JSON.stringify({ error: { code: "METHOD_NOT_ALLOWED", message: `use ${allow}` } }), {
    status: 405,
    headers: { allow, "content-type": "application/json; charset=utf-8" },
  });

type View = (d: DeadLetter) => Record<string, unknown>;

async function list(d: Dispatcher, url: URL, view: View): Promise<Response> {
  const raw = queryInput(url, ["consumer", "include_resolved", "limit", "group"]);
  if (raw instanceof Response) return raw;
  const query = validate(listQuery, raw);
  if (query instanceof Response) return query;
  if (query.group === "true") {
    const groups = await d.deadLetters.groups(query.consumer);
    return json(200, {
      groups: groups.map((g) => ({
        fingerprint: g.fingerprint,
        error_class: g.errorClass,
        sample_message: g.sampleMessage,
        event_types: g.eventTypes,
        count: g.count,
        first_failed_at: g.firstFailedAt.toISOString(),
        last_failed_at: g.lastFailedAt.toISOString(),
      })),
    });
  }
  const rows = await d.deadLetters.list(query.consumer, { includeResolved: query.include_resolved === "true", limit: query.limit });
  return json(200, { dead_letters: rows.map(view) });
}

async function resolve(d: Dispatcher, id: string, input: Record<string, unknown>, view: View): Promise<Response> {
  const body = validate(resolveBody, input);
  if (body instanceof Response) return body;
  const resolved = await d.deadLetters.resolve(id, { resolvedBy: body.resolved_by, resolutionNote: body.resolution_note ?? undefined });
  return json(200, { dead_letter: view(resolved) });
}

async function replay(d: Dispatcher, id: string, input: Record<string, unknown>, view: View): Promise<Response> {
  const body = validate(replayBody, input);
  if (body instanceof Response) return body;
  const replayedBy = body.replayed_by;
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
