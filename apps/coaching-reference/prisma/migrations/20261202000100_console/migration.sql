-- @sguild/prisma-fragment: what the operator console (createConsole) reads and sets.
-- dispatcher_cursor.paused_at, paused_by   a paused (consumer, event_type) delivers nothing, on every replica, until resumed.
-- dispatcher_consumer_instance             one row per running consumer loop (a replica), refreshed as its heartbeat
--                                           and deleted when it stops; a row not refreshed for three intervals is a dead replica.
ALTER TABLE "public"."dispatcher_cursor" ADD COLUMN "paused_at" TIMESTAMPTZ(3), ADD COLUMN "paused_by" TEXT;

CREATE TABLE "public"."dispatcher_consumer_instance" (
    "instance_id" TEXT NOT NULL,
    "consumer" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "version" TEXT NOT NULL,
    "event_types" TEXT[] NOT NULL,
    "heartbeat_interval_ms" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "dispatcher_consumer_instance_pkey" PRIMARY KEY ("instance_id")
);
CREATE INDEX "dispatcher_consumer_instance_consumer" ON "public"."dispatcher_consumer_instance"("consumer", "last_seen_at");
