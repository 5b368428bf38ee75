-- @sguild/prisma-fragment: the dispatcher's four tables, rendered for schema "public".
-- dispatcher_event   one row per published event; committed with the producer's own transaction.
-- dispatcher_cursor  per (consumer, event_type) read position (last_position) and retry state.
-- dispatcher_dedup   one row per (consumer, event_id) already delivered.
-- dispatcher_dead_letter  events a consumer gave up on, until an operator resolves or replays them.
CREATE SCHEMA IF NOT EXISTS "public";

CREATE TABLE "public"."dispatcher_event" (
    "id" BIGSERIAL NOT NULL,
    "event_id" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "schema_version" INTEGER NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "producer" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "subject" TEXT,
    "actor" TEXT,
    "correlation_id" TEXT,
    "payload" JSONB NOT NULL,
    "trace_context" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),
    -- Delivery order. NULL until the row's transaction has committed and the sequencer
    -- (dispatcher_sequence below) numbers it; readers follow position, never id, so an
    -- event whose producer committed late is numbered late instead of being skipped.
    "position" BIGINT,
    "sequenced_at" TIMESTAMPTZ(3),
    CONSTRAINT "dispatcher_event_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "dispatcher_event_event_id_key" ON "public"."dispatcher_event"("event_id");
CREATE INDEX "dispatcher_event_type_position" ON "public"."dispatcher_event"("event_type", "position");
CREATE INDEX "dispatcher_event_unsequenced" ON "public"."dispatcher_event"("id") WHERE "position" IS NULL;
CREATE INDEX "dispatcher_event_created_at" ON "public"."dispatcher_event"("created_at");

CREATE TABLE "public"."dispatcher_cursor" (
    "consumer" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "last_position" BIGINT NOT NULL DEFAULT 0,
    "last_delivered_at" TIMESTAMPTZ(3),
    -- Retry state of the event right after last_position, shared by every replica.
    "failed_attempts" INTEGER NOT NULL DEFAULT 0,
    "first_failed_at" TIMESTAMPTZ(3),
    "retry_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "dispatcher_cursor_pkey" PRIMARY KEY ("consumer", "event_type")
);

CREATE TABLE "public"."dispatcher_dedup" (
    "consumer" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "delivered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "dispatcher_dedup_pkey" PRIMARY KEY ("consumer", "event_id")
);
CREATE INDEX "dispatcher_dedup_delivered_at" ON "public"."dispatcher_dedup"("delivered_at");

CREATE TABLE "public"."dispatcher_dead_letter" (
    "id" TEXT NOT NULL,
    "consumer" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "event_position" BIGINT,
    "envelope" JSONB NOT NULL,
    "error_class" TEXT NOT NULL,
    "error_message" TEXT NOT NULL,
    "error_stack" TEXT,
    "fingerprint" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL,
    "first_failed_at" TIMESTAMPTZ(3) NOT NULL,
    "last_failed_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),
    "resolved_by" TEXT,
    "resolution_note" TEXT,
    -- An operator asked (CLI or API without handlers) for the running consumer to replay it.
    "replay_requested_at" TIMESTAMPTZ(3),
    "replay_requested_by" TEXT,
    CONSTRAINT "dispatcher_dead_letter_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "dispatcher_dead_letter_active_per_consumer" ON "public"."dispatcher_dead_letter"("consumer", "created_at" DESC) WHERE "resolved_at" IS NULL;
CREATE INDEX "dispatcher_dead_letter_consumer_created_at" ON "public"."dispatcher_dead_letter"("consumer", "created_at" DESC);
CREATE INDEX "dispatcher_dead_letter_event" ON "public"."dispatcher_dead_letter"("consumer", "event_id");
CREATE INDEX "dispatcher_dead_letter_replay_requested" ON "public"."dispatcher_dead_letter"("consumer") WHERE "replay_requested_at" IS NOT NULL AND "resolved_at" IS NULL;

-- Wake-up: one notification per event_type per inserting statement, delivered at commit.
CREATE FUNCTION "public"."dispatcher_event_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dispatcher_event_inserted', t.event_type) FROM (SELECT DISTINCT event_type FROM inserted) AS t;
    RETURN NULL;
END;
$$;
CREATE TRIGGER "dispatcher_event_notify" AFTER INSERT ON "public"."dispatcher_event"
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "public"."dispatcher_event_notify"();

-- The sequencer: numbers committed, not-yet-numbered events in id order, one caller at a time.
-- Runs as one statement; under READ COMMITTED each statement below sees every commit made
-- before it started, so rows committed while a run is in flight are numbered by the next run,
-- always above every position already handed out.
CREATE SEQUENCE "public"."dispatcher_event_position_seq";
CREATE FUNCTION "public"."dispatcher_sequence"(max_rows INTEGER) RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    base BIGINT;
    numbered INTEGER;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM "public"."dispatcher_event" WHERE "position" IS NULL) THEN
        RETURN 0;
    END IF;
    -- Positions are derived data: a commit lost in a server crash is re-numbered on restart,
    -- and anything that read them was written later in the WAL, so skip the fsync wait.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_advisory_xact_lock(hashtext('sguild.dispatcher_sequence.public'));
    base := nextval('"public"."dispatcher_event_position_seq"') - 1;
    WITH pending AS (
        SELECT "id", row_number() OVER (ORDER BY "id") AS n
        FROM "public"."dispatcher_event" WHERE "position" IS NULL ORDER BY "id" LIMIT max_rows
    )
    UPDATE "public"."dispatcher_event" AS e SET "position" = base + p.n, "sequenced_at" = clock_timestamp()
    FROM pending AS p WHERE e."id" = p."id";
    GET DIAGNOSTICS numbered = ROW_COUNT;
    IF numbered > 1 THEN
        PERFORM setval('"public"."dispatcher_event_position_seq"', base + numbered);
    END IF;
    RETURN numbered;
END;
$$;
