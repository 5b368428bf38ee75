import { Hono, type Context } from "hono";
import { createDeadLetterRoutes, DispatcherError } from "@sguild/dispatcher";
import { IllegalTransitionError, InsufficientCreditsError, NotFoundError } from "../reservations/errors.js";
import type { RevenueService } from "../reservations/service.js";
import type { DomainDispatcher } from "../db.js";

type Reservation = Awaited<ReturnType<RevenueService["getReservation"]>>;

const reservationJson = (r: Reservation) => ({
  id: r.id,
  account_id: r.accountId,
  person_id: r.personId,
  lesson_id: r.lessonId,
  organization_id: r.organizationId,
  credits: r.credits,
  state: r.state,
  funding_state: r.fundingState,
  lesson_starts_at: r.lessonStartsAt.toISOString(),
});

class BadRequest extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

function field<T>(body: Record<string, unknown>, name: string, check: (v: unknown) => boolean, expected: string): T {
  if (!check(body[name])) throw new BadRequest(`${name} must be ${expected}`, name);
  return body[name] as T;
}
const isText = (v: unknown) => typeof v === "string" && v.length > 0;
const isCount = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

async function body(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (!text) return {};
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  throw new BadRequest("the body must be a JSON object", "body");
}

/** Revenue's JSON API: drives the state machine; GET /reservations is the synchronous read API other domains use before cutover. */
export function createRevenueApp(service: RevenueService, dispatcher: DomainDispatcher, adminToken?: string): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    if (error instanceof IllegalTransitionError)
      return c.json({ error: { code: error.code, message: error.message, current_state: error.currentState } }, 409);
    if (error instanceof InsufficientCreditsError) return c.json({ error: { code: error.code, message: error.message } }, 409);
    if (error instanceof NotFoundError) return c.json({ error: { code: error.code, message: error.message } }, 404);
    if (error instanceof BadRequest)
      return c.json({ error: { code: "INVALID_ARGUMENT", message: error.message, field: error.field } }, 400);
    if (DispatcherError.isInstance(error)) return c.json({ error: { code: error.code, message: error.message } }, 400);
    console.error(error);
    return c.json({ error: { code: "INTERNAL", message: "internal error" } }, 500);
  });

  app.post("/accounts", async (c) => {
    const b = await body(c);
    const account = await service.openAccount(field(b, "person_id", (v) => isText(v) && /^per_/.test(v as string), "a per_<uuid v7> id"));
    return c.json({ id: account.id, person_id: account.personId, balance: account.balance }, 201);
  });
  app.post("/accounts/:id/purchases", async (c) => {
    const b = await body(c);
    const account = await service.purchase(
      c.req.param("id"),
      field(b, "credits", isCount, "a positive integer"),
      b["order_id"] as string | undefined,
    );
    return c.json({ id: account.id, person_id: account.personId, balance: account.balance }, 201);
  });
  app.post("/reservations", async (c) => {
    const b = await body(c);
    const r = await service.reserve({
      accountId: field(b, "account_id", isText, "an account id"),
      lessonId: field(b, "lesson_id", isText, "a les_<uuid v7> id"),
      organizationId: field(b, "organization_id", isText, "an organization id"),
      credits: field(b, "credits", isCount, "a positive integer"),
      lessonStartsAt: field(b, "lesson_starts_at", (v) => isText(v) && !Number.isNaN(Date.parse(v as string)), "an ISO time"),
    });
    return c.json(reservationJson(r), 201);
  });
  app.post("/reservations/:id/fund", async (c) => {
    const b = await body(c);
    return c.json(
      reservationJson(
        await service.fund(
          c.req.param("id"),
          field(b, "source", (v) => v === "credits_available" || v === "invoice_paid", "credits_available or invoice_paid"),
        ),
      ),
    );
  });
  app.post("/reservations/:id/lock", async (c) => c.json(reservationJson(await service.lock(c.req.param("id")))));
  app.post("/reservations/:id/consume", async (c) => c.json(reservationJson(await service.consume(c.req.param("id")))));
  app.post("/reservations/:id/release", async (c) => {
    const b = await body(c);
    return c.json(
      reservationJson(
        await service.release(c.req.param("id"), {
          initiator: field(b, "initiator", isText, "an initiator"),
          reasonCode: field(b, "reason_code", isText, "a reason code"),
          reasonNote: b["reason_note"] as string | undefined,
        }),
      ),
    );
  });
  app.post("/reservations/:id/forfeit", async (c) => {
    const b = await body(c);
    return c.json(
      reservationJson(
        await service.forfeit(
          c.req.param("id"),
          field(b, "reason", (v) => v === "late_cancel" || v === "no_show", "late_cancel or no_show"),
        ),
      ),
    );
  });
  app.post("/reservations/:id/refund", async (c) => {
    const b = await body(c);
    return c.json(
      reservationJson(
        await service.startRefund(c.req.param("id"), {
          reason: field(b, "reason", isText, "a reason code"),
          amountCents: field(b, "amount_cents", isCount, "a positive integer"),
        }),
      ),
    );
  });
  app.post("/reservations/:id/refund/complete", async (c) => {
    const b = await body(c);
    return c.json(
      reservationJson(
        await service.completeRefund(c.req.param("id"), {
          reason: field(b, "reason", isText, "a reason code"),
          amountCents: field(b, "amount_cents", isCount, "a positive integer"),
        }),
      ),
    );
  });
  app.get("/reservations", async (c) => c.json({ reservations: (await service.listReservations()).map(reservationJson) }));
  app.get("/reservations/:id", async (c) => c.json(reservationJson(await service.getReservation(c.req.param("id")))));
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
