-- Coaching's domain tables.
CREATE TABLE "slot_claim" (
    "credit_reservation_id" TEXT NOT NULL PRIMARY KEY,
    "lesson_id" TEXT,
    "organization_id" TEXT,
    "status" TEXT NOT NULL CHECK ("status" IN ('held', 'released')),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX "slot_claim_lesson_id_idx" ON "slot_claim"("lesson_id");
CREATE TABLE "cutover_state" (
    "id" INTEGER NOT NULL PRIMARY KEY DEFAULT 1 CHECK ("id" = 1),
    "mode" TEXT NOT NULL CHECK ("mode" IN ('backfill', 'shadow', 'events')),
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
