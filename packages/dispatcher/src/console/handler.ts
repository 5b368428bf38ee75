import { SguildError } from "@sguild/contracts";
import type { Dispatcher } from "../dispatcher/dispatcher.js";
import { dispatcher as singleton } from "../dispatcher/singleton.js";
import { DispatcherConfigError } from "../errors/index.js";
import { defaultLogger, type Logger } from "../observability/index.js";
import { authorization, type AuthorizationResult } from "../http/authorize.js";
import { bodyLimit, readLimitedText } from "../http/body.js";
import { jsonObject, queryInput, validate } from "../http/input.js";
import { problem } from "../http/responses.js";
import { DEFAULTS } from "../config/defaults.js";
import { ASSETS, assetResponse } from "./assets.js";
import { resolveJetStreamConfig, type JetStreamConfig, type JetStreamStreamRef } from "../jetstream/config.js";
import { consoleContext, type ConsoleContext } from "./context.js";
import { crossSiteRefusal, originPolicy, secure } from "./guard.js";
import { findRoute, PARAMS } from "./routes.js";

/** "read": the page, its assets and every GET. "operate": every POST (pause, resume, rewind, drop, replay, resolve). */
export type ConsoleAccess = "read" | "operate";

export interface ConsoleOptions {
  /**
   * Required: decides every request, told whether it reads or operates. Only `true` or
   * `{ allowed: true }` allows; `false` or `{ allowed: false, status: 401 }` answers 401, anything else 403.
   */
  authorize: (request: Request, access: ConsoleAccess) => AuthorizationResult | Promise<AuthorizationResult>;
  /** Whose database, schema and registry it shows. Default: the configured `dispatcher` singleton. */
  dispatcher?: Dispatcher;
  /** Where it is mounted. Default `/dispatcher/console`; every other path is 404. */
  basePath?: string;
  /**
   * Origins (`https://admin.example`) whose pages may POST. Default: the request's own origin (its
   * URL's, or the one its Host header names).
   */
  allowedOrigins?: readonly string[];
  /** Largest POST body read, in bytes. Default 65536 (64 KiB); a larger one is answered 413. */
  maxBodyBytes?: number;
  /** Where actions (who paused, resolved, dropped what) and failures are logged. Default: the dispatcher's logger. */
  logger?: Logger;
  /**
   * NATS and the stream of the JetStream transport (docs/cross-domain.md), as the relay and the inbox
   * take them (`stream.name` is enough): the overview then shows the stream and its consumers (the
   * inbox's, per event type: pending, unacknowledged, ack floor). Needs the optional `@nats-io/*` clients.
   */
  jetstream?: ConsoleJetStream;
}

/** What the console needs of the JetStream configuration: the connection and the stream's name. */
export type ConsoleJetStream = JetStreamStreamRef;

export type ConsoleHandler = (request: Request) => Promise<Response>;

const STATUS_BY_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  UNKNOWN_CONSUMER: 404,
  DEAD_LETTER_NOT_FOUND: 404,
  DEAD_LETTER_ALREADY_RESOLVED: 409,
  INVALID_STATE: 409,
  PAYLOAD_TOO_LARGE: 413,
  // NATS unreachable or the stream missing; the client packages not installed.
  JETSTREAM_FAILED: 502,
  NATS_CLIENT_MISSING: 501,
};

/**
 * The operator console (docs/console.md) as one Web-standard handler (Request -> Response): the page
 * at `{basePath}/`, its assets, and the JSON API below `{basePath}/api/`. Every request is decided by
 * `authorize`; a POST must first pass the cross-site checks (403 CROSS_SITE_REQUEST).
 */
export function createConsole(options: ConsoleOptions): ConsoleHandler {
  if (typeof options?.authorize !== "function") {
    throw new DispatcherConfigError(
      "createConsole needs an authorize(request, access) hook: the console is never served without one",
      "authorize",
    );
  }
  const base = (options.basePath ?? DEFAULTS.console.basePath).replace(/\/+$/, "");
  if (!base.startsWith("/"))
    throw new DispatcherConfigError(`createConsole basePath must start with / (got ${JSON.stringify(options.basePath)})`, "basePath");
  const maxBodyBytes = bodyLimit(options.maxBodyBytes, DEFAULTS.console.maxBodyBytes, "createConsole");
  const origins = originPolicy(options.allowedOrigins);
  const target = () => options.dispatcher ?? singleton;
  // Checked now, as the relay and the inbox check it: a bad setting is a DispatcherConfigError naming it.
  if (options.jetstream !== undefined) resolveJetStreamConfig(options.jetstream as JetStreamConfig);

  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return secure(notFound(url));
    // The dispatcher is resolved for the API only: the page and its assets need no database.
    const context = () => consoleContext(target(), options.logger, options.jetstream);
    const method = request.method === "HEAD" ? "GET" : request.method;
    const access: ConsoleAccess = method === "GET" ? "read" : "operate";
    if (access === "operate") {
      const refusal = crossSiteRefusal(request, origins);
      if (refusal) return secure(problem(403, "CROSS_SITE_REQUEST", refusal));
    }
    const denied = await authorization(
      (r) => options.authorize(r, access),
      request,
      loggerOf(options.logger, target),
      "dispatcher console",
    );
    if (denied) return secure(denied);
    try {
      const response = await answer(request, url, url.pathname.slice(base.length), method, context, maxBodyBytes);
      return secure(request.method === "HEAD" ? new Response(null, response) : response);
    } catch (error) {
      if (SguildError.isInstance(error) && STATUS_BY_CODE[error.code]) {
        return secure(problem(STATUS_BY_CODE[error.code]!, error.code, error.message, errorField(error)));
      }
      loggerOf(options.logger, target).error({ err: error, path: url.pathname }, "dispatcher console request failed");
      return secure(problem(500, "INTERNAL", "internal error"));
    }
  };
}

async function answer(
  request: Request,
  url: URL,
  path: string,
  method: string,
  context: () => ConsoleContext,
  maxBodyBytes: number,
): Promise<Response> {
  // {base} itself: the page's relative asset and API URLs resolve below {base}/ only.
  if (path === "") return method === "GET" ? redirect(`${url.pathname}/${url.search}`) : notAllowed(["GET"]);
  const asset = ASSETS.get(path);
  if (asset) return method === "GET" ? assetResponse(asset, request) : notAllowed(["GET"]);
  if (!path.startsWith("/api/")) return notFound(url);
  let segments: string[];
  try {
    segments = path.slice("/api/".length).split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return problem(400, "INVALID_ARGUMENT", "the path is not valid percent-encoding");
  }
  const found = findRoute(method, segments);
  if (!found) return notFound(url);
  if ("allow" in found) return notAllowed(found.allow);
  const params = validate(PARAMS, found.params);
  if (params instanceof Response) return params;
  let raw: unknown;
  if (found.route.method === "GET") {
    raw = queryInput(url, found.route.queryNames);
  } else {
    raw = jsonObject(await readLimitedText(request, maxBodyBytes));
  }
  if (raw instanceof Response) return raw;
  const input = validate(found.route.schema, raw);
  if (input instanceof Response) return input;
  return found.route.run(context(), params as Record<string, string>, input);
}

/** The logger given, else the dispatcher's, else the default one (a dispatcher not configured yet has none). */
function loggerOf(logger: Logger | undefined, target: () => Dispatcher): Logger {
  if (logger) return logger;
  try {
    return consoleContext(target(), undefined).logger;
  } catch {
    return defaultLogger();
  }
}

/** The field an error names (a SguildError's `argument` detail), as the console spells fields (camelCase). */
function errorField(error: SguildError): string | undefined {
  const argument = error.details?.["argument"];
  return typeof argument === "string" && argument !== "" ? argument : undefined;
}

const notFound = (url: URL) => problem(404, "NOT_FOUND", `no route ${url.pathname}`);

function notAllowed(allow: string[]): Response {
  const response = problem(405, "METHOD_NOT_ALLOWED", `use ${allow.join(" or ")}`);
  response.headers.set("allow", allow.join(", "));
  return response;
}

function redirect(location: string): Response {
  return new Response(null, { status: 308, headers: { location } });
}
