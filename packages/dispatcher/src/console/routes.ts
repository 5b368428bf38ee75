import * as v from "valibot";
import { json, problem } from "../http/responses.js";
import { drop, pause, resume, rewind } from "./actions.js";
import type { ConsoleContext } from "./context.js";
import { listDeadLetters, replayGroup, replayOne, resolveGroup, withoutStack } from "./dead-letters.js";
import { eventDetail, flow, searchEvents, tail } from "./events.js";
import * as input from "./input.js";
import { consumerSummary, overview } from "./overview.js";

// The JSON API below {base}/api/, one entry per method and path. A segment written `:name` is a
// path parameter, checked by PARAMS; the query (GET) or body (POST) is checked by the route's schema.

export type Method = "GET" | "POST";

export interface Route {
  method: Method;
  path: readonly string[];
  schema: v.GenericSchema;
  /** The query parameters a GET route reads (its schema's keys); the others are ignored. */
  queryNames: string[];
  run(ctx: ConsoleContext, params: Record<string, string>, input: unknown): Promise<Response>;
}

const PARAMS = v.object({
  consumer: v.optional(input.name("consumer")),
  fingerprint: v.optional(input.fingerprint),
  eventId: v.optional(input.name("eventId")),
  correlationId: v.optional(input.name("correlationId")),
  // A dead letter id is checked by the dead-letter service (dlq_<UUID>).
  id: v.optional(v.string()),
});

export { PARAMS };

function route<S extends v.GenericSchema>(
  method: Method,
  path: string,
  schema: S,
  run: (ctx: ConsoleContext, params: Record<string, string>, input: v.InferOutput<S>) => Promise<Response>,
): Route {
  const queryNames = method === "GET" && "entries" in schema ? Object.keys(schema.entries as object) : [];
  return { method, path: path.split("/"), schema, queryNames, run: run as Route["run"] };
}

const none = v.object({});
const ok = (body: unknown) => json(200, body);

export const ROUTES: readonly Route[] = [
  route("GET", "overview", none, async (ctx) => ok(await overview(ctx.database, ctx.tables))),
  route("GET", "consumers/:consumer", none, async (ctx, p) => ok(await consumerSummary(ctx.database, ctx.tables, p["consumer"]!))),
  route("POST", "consumers/:consumer/pause", input.pauseBody, async (ctx, p, body) => {
    const result = await pause(ctx.database, ctx.tables, { consumer: p["consumer"]!, by: body.by, eventType: body.eventType });
    ctx.logger.info({ consumer: result.consumer, paused: result.paused, by: body.by }, "dispatcher console: consumer paused");
    return ok(result);
  }),
  route("POST", "consumers/:consumer/resume", input.pauseBody, async (ctx, p, body) => {
    const result = await resume(ctx.database, ctx.tables, { consumer: p["consumer"]!, by: body.by, eventType: body.eventType });
    ctx.logger.info({ consumer: result.consumer, resumed: result.resumed, by: body.by }, "dispatcher console: consumer resumed");
    return ok(result);
  }),
  route("POST", "consumers/:consumer/rewind", input.rewindBody, async (ctx, p, body) => {
    const result = await rewind(ctx.database, ctx.tables, {
      consumer: p["consumer"]!,
      to: body.to,
      eventType: body.eventType,
      dryRun: body.dryRun,
    });
    if (!result.dryRun)
      ctx.logger.info(
        { consumer: p["consumer"], to: body.to, cursors: result.cursors, by: body.by },
        "dispatcher console: consumer rewound",
      );
    return ok(result);
  }),
  route("POST", "consumers/:consumer/drop", input.dropBody, async (ctx, p, body) => {
    const result = await drop(ctx.database, ctx.tables, { consumer: p["consumer"]!, confirm: body.confirm });
    ctx.logger.info(
      { consumer: result.consumer, cursors: result.cursors.length, deadLetters: result.deadLetters, by: body.by },
      "dispatcher console: consumer dropped",
    );
    return ok(result);
  }),
  route("GET", "dead-letters/groups", input.groupsQuery, async (ctx, _p, query) =>
    ok(await ctx.dispatcher.deadLetters.groups(query.consumer)),
  ),
  route("GET", "dead-letters", input.deadLettersQuery, async (ctx, _p, query) =>
    ok(
      await listDeadLetters(ctx, {
        consumer: query.consumer,
        fingerprint: query.fingerprint,
        includeResolved: query.includeResolved === "true",
        limit: query.limit,
      }),
    ),
  ),
  // The one answer that carries errorStack: the letter's details page.
  route("GET", "dead-letters/:id", none, async (ctx, p) => ok(await ctx.dispatcher.deadLetters.get(p["id"]!))),
  route("POST", "dead-letters/groups/:fingerprint/replay", input.groupReplayBody, async (ctx, p, body) => {
    const outcomes = await replayGroup(ctx, p["fingerprint"]!, { by: body.by, consumer: body.consumer });
    ctx.logger.info(
      { fingerprint: p["fingerprint"], consumer: body.consumer, letters: outcomes.length, by: body.by },
      "dispatcher console: dead-letter group replayed",
    );
    return ok({ outcomes });
  }),
  route("POST", "dead-letters/groups/:fingerprint/resolve", input.groupResolveBody, async (ctx, p, body) => {
    const resolved = await resolveGroup(ctx, p["fingerprint"]!, { by: body.by, note: body.note, consumer: body.consumer });
    ctx.logger.info(
      { fingerprint: p["fingerprint"], consumer: body.consumer, letters: resolved.length, by: body.by },
      "dispatcher console: dead-letter group resolved",
    );
    return ok({ resolved });
  }),
  route("POST", "dead-letters/:id/replay", input.replayBody, async (ctx, p, body) => {
    const result = await replayOne(ctx, p["id"]!, body.by);
    ctx.logger.info({ deadLetterId: p["id"], outcome: result.outcome, by: body.by }, "dispatcher console: dead letter replayed");
    // "requested": the letter's consumer, in another process, replays it.
    return json(result.outcome === "requested" ? 202 : 200, result);
  }),
  route("POST", "dead-letters/:id/resolve", input.resolveBody, async (ctx, p, body) => {
    const resolved = await ctx.dispatcher.deadLetters.resolve(p["id"]!, { resolvedBy: body.by, resolutionNote: body.note ?? undefined });
    ctx.logger.info({ deadLetterId: p["id"], by: body.by }, "dispatcher console: dead letter resolved");
    return ok(withoutStack(resolved));
  }),
  route("GET", "events", input.eventsQuery, async (ctx, _p, query) => ok(await searchEvents(ctx.database, ctx.tables, query))),
  route("GET", "events/:eventId", none, async (ctx, p) => {
    const detail = await eventDetail(ctx.database, ctx.tables, p["eventId"]!);
    return detail ? ok(detail) : problem(404, "NOT_FOUND", `event ${p["eventId"]} is not stored`);
  }),
  route("GET", "flows/:correlationId", none, async (ctx, p) => ok(await flow(ctx.database, ctx.tables, p["correlationId"]!))),
  route("GET", "tail", input.tailQuery, async (ctx, _p, query) => ok(await tail(ctx.database, ctx.tables, query))),
  // The JetStream transport's stream and consumers, read from NATS at each request (loaded only when configured).
  route("GET", "jetstream", none, async (ctx) => {
    if (!ctx.jetstream) return ok({ configured: false });
    const { jetStreamStatus } = await import("../jetstream/status.js");
    return ok({ configured: true, ...(await jetStreamStatus(ctx.jetstream)) });
  }),
];

/** The route for these segments (below api/) and, when none has the method, the methods that path takes. */
export function findRoute(
  method: string,
  segments: readonly string[],
): { route: Route; params: Record<string, string> } | { allow: Method[] } | undefined {
  const allow: Method[] = [];
  for (const candidate of ROUTES) {
    const params = match(candidate.path, segments);
    if (!params) continue;
    if (candidate.method === method) return { route: candidate, params };
    if (!allow.includes(candidate.method)) allow.push(candidate.method);
  }
  return allow.length > 0 ? { allow } : undefined;
}

function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i]!;
    if (part.startsWith(":")) params[part.slice(1)] = segments[i]!;
    else if (part !== segments[i]) return undefined;
  }
  return params;
}
