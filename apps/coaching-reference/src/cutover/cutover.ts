import type { DomainDispatcher } from "../db.js";
import type { PrismaClient } from "../db.js";
import { setClaim, type ClaimStatus } from "../projection/claims.js";
import { CONSUMER } from "../projection/subscribe.js";

/** A reservation as Revenue's synchronous read API returns it (GET /reservations). */
interface RevenueReservation {
  id: string;
  lesson_id: string;
  organization_id: string;
  state: string;
}

export type CutoverMode = "backfill" | "shadow" | "events";

/** What Coaching should hold for a reservation in this Revenue state (a delivered lesson keeps its slot). */
export const expectedStatus = (state: string): ClaimStatus => (state === "released" || state === "forfeited" ? "released" : "held");

async function fetchReservations(revenueUrl: string): Promise<RevenueReservation[]> {
  const response = await fetch(`${revenueUrl.replace(/\/$/, "")}/reservations`);
  if (!response.ok) throw new Error(`Revenue read API answered ${response.status}`);
  return ((await response.json()) as { reservations: RevenueReservation[] }).reservations;
}

async function setMode(prisma: PrismaClient, mode: CutoverMode): Promise<void> {
  await prisma.cutoverState.upsert({ where: { id: 1 }, create: { id: 1, mode }, update: { mode, changedAt: new Date() } });
}

export async function currentMode(prisma: PrismaClient): Promise<CutoverMode | "none"> {
  return ((await prisma.cutoverState.findUnique({ where: { id: 1 } }))?.mode as CutoverMode | undefined) ?? "none";
}

/** Step 1: seed the projection from Revenue's read API. Refused once cut over. */
export async function backfill(prisma: PrismaClient, revenueUrl: string): Promise<{ reservations: number }> {
  if ((await currentMode(prisma)) === "events") throw new Error("already cut over to events: backfill would overwrite the projection");
  const reservations = await fetchReservations(revenueUrl);
  await prisma.$transaction(async (tx) => {
    for (const r of reservations)
      await setClaim(tx, {
        reservationId: r.id,
        lessonId: r.lesson_id,
        organizationId: r.organization_id,
        status: expectedStatus(r.state),
      });
  });
  await setMode(prisma, "backfill");
  return { reservations: reservations.length };
}

export interface Drift {
  reservation_id: string;
  expected: ClaimStatus | "absent";
  actual: ClaimStatus | "absent";
}

/** Step 2: compare the event-fed projection with Revenue's read API; every difference is drift. */
export async function shadowCompare(prisma: PrismaClient, revenueUrl: string): Promise<{ compared: number; drift: Drift[] }> {
  const reservations = await fetchReservations(revenueUrl);
  const claims = new Map((await prisma.slotClaim.findMany()).map((c) => [c.creditReservationId, c.status as ClaimStatus]));
  const drift: Drift[] = [];
  for (const r of reservations) {
    const actual = claims.get(r.id) ?? "absent";
    if (actual !== expectedStatus(r.state)) drift.push({ reservation_id: r.id, expected: expectedStatus(r.state), actual });
    claims.delete(r.id);
  }
  for (const [id, status] of claims) drift.push({ reservation_id: id, expected: "absent", actual: status });
  if ((await currentMode(prisma)) !== "events") await setMode(prisma, "shadow");
  return { compared: reservations.length, drift };
}

/** Step 3: events only; the read API is no longer used. */
export async function cutOver(prisma: PrismaClient): Promise<void> {
  await setMode(prisma, "events");
}

/**
 * Clears the projection and rewinds the consumer to the beginning with reprocess (its dedup rows for
 * the rewound events are deleted): the running consumer applies every event once more and rebuilds it.
 */
export async function rebuild(prisma: PrismaClient, dispatcher: DomainDispatcher): Promise<{ forgotten: number }> {
  await prisma.slotClaim.deleteMany();
  const result = await dispatcher.resetCursor({ consumer: CONSUMER, to: new Date(0), reprocess: true, confirm: CONSUMER });
  return { forgotten: result.forgotten };
}
