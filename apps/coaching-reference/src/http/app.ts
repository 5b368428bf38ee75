import { Hono } from "hono";
import { createDeadLetterRoutes } from "@sguild/dispatcher";
import type { DomainDispatcher, PrismaClient } from "../db.js";
import { currentMode } from "../cutover/cutover.js";
import { availability } from "../projection/availability.js";
import { CONSUMER } from "../projection/subscribe.js";

/** Coaching's read API: availability from the projection, consumer status, and the DLQ routes. */
export function createCoachingApp(prisma: PrismaClient, dispatcher: DomainDispatcher, adminToken?: string): Hono {
  const app = new Hono();
  app.get("/availability", async (c) => c.json({ lessons: await availability(prisma) }));
  app.get("/availability/:lessonId", async (c) => {
    const lesson = (await availability(prisma)).find((l) => l.lesson_id === c.req.param("lessonId"));
    return c.json(lesson ?? { lesson_id: c.req.param("lessonId"), held_slots: 0 });
  });
  app.get("/status", async (c) => {
    const cursors = await dispatcher.status(CONSUMER);
    const deadLetters = await dispatcher.deadLetters.list(CONSUMER, { limit: 1000 });
    return c.json({
      mode: await currentMode(prisma),
      lag_events: cursors.reduce((n, r) => n + r.lagEvents, 0),
      dead_letters: deadLetters.length,
      cursors: cursors.map((r) => ({ event_type: r.eventType, position: r.position, lag_events: r.lagEvents, lag_seconds: r.lagSeconds })),
    });
  });
  app.get("/health", (c) => c.json({ ok: true }));
  const dlq = createDeadLetterRoutes({
    dispatcher,
    authorize: (request) =>
      (adminToken !== undefined && request.headers.get("authorization") === `Bearer ${adminToken}`) || { allowed: false, status: 401 },
  });
  app.all("/api/dispatcher/v1/dlq/*", (c) => dlq(c.req.raw));
  app.all("/api/dispatcher/v1/dlq", (c) => dlq(c.req.raw));
  return app;
}
