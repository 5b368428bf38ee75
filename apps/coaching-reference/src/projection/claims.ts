import type { Tx } from "../db.js";

export type ClaimStatus = "held" | "released";

/**
 * Applies one fact about a reservation's slot. Idempotent, and safe in any arrival order across
 * event types: "released" is final, and lesson/organization are filled in by whichever event has them.
 */
export async function applyClaim(
  tx: Tx,
  claim: { reservationId: string; lessonId?: string; organizationId?: string; status: ClaimStatus },
): Promise<void> {
  await tx.$executeRaw`INSERT INTO slot_claim (credit_reservation_id, lesson_id, organization_id, status)
    VALUES (${claim.reservationId}, ${claim.lessonId ?? null}, ${claim.organizationId ?? null}, ${claim.status})
    ON CONFLICT (credit_reservation_id) DO UPDATE SET
      lesson_id = coalesce(slot_claim.lesson_id, EXCLUDED.lesson_id),
      organization_id = coalesce(slot_claim.organization_id, EXCLUDED.organization_id),
      status = CASE WHEN slot_claim.status = 'released' OR EXCLUDED.status = 'released' THEN 'released' ELSE 'held' END,
      updated_at = now()`;
}

/** Sets a claim to what the source of truth says (backfill). */
export async function setClaim(
  tx: Tx,
  claim: { reservationId: string; lessonId: string; organizationId: string; status: ClaimStatus },
): Promise<void> {
  await tx.$executeRaw`INSERT INTO slot_claim (credit_reservation_id, lesson_id, organization_id, status)
    VALUES (${claim.reservationId}, ${claim.lessonId}, ${claim.organizationId}, ${claim.status})
    ON CONFLICT (credit_reservation_id) DO UPDATE SET lesson_id = EXCLUDED.lesson_id, organization_id = EXCLUDED.organization_id,
      status = EXCLUDED.status, updated_at = now()`;
}
