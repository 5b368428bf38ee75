-- Revenue's domain tables.
CREATE TABLE "credit_account" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "person_id" TEXT NOT NULL,
    "balance" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE "credit_purchase" (
    "order_id" TEXT NOT NULL PRIMARY KEY,
    "account_id" TEXT NOT NULL REFERENCES "credit_account"("id"),
    "credits" INTEGER NOT NULL,
    "purchased_at" TIMESTAMPTZ(3) NOT NULL
);
CREATE TABLE "credit_reservation" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "account_id" TEXT NOT NULL REFERENCES "credit_account"("id"),
    "person_id" TEXT NOT NULL,
    "lesson_id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "credits" INTEGER NOT NULL,
    "state" TEXT NOT NULL CHECK ("state" IN ('reserved', 'locked', 'consumed', 'forfeited', 'released')),
    "funding_state" TEXT NOT NULL CHECK ("funding_state" IN ('pending_funding', 'funded', 'refunding', 'refunded')),
    "lesson_starts_at" TIMESTAMPTZ(3) NOT NULL,
    "refunding_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE "customer_handoff" (
    "person_id" TEXT NOT NULL PRIMARY KEY,
    "credit_reservation_id" TEXT NOT NULL,
    "lesson_id" TEXT NOT NULL,
    "handoff_at" TIMESTAMPTZ(3) NOT NULL
);
