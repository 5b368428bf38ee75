-- @sguild/prisma-fragment: where each cursor started, shown by `status`.
-- start_from      "earliest" or "now": the start({ startFrom }) that created the cursor (NULL: created before this column).
-- start_position  the position it was created at; events of its type at or below it were never delivered to it by default.
ALTER TABLE "public"."dispatcher_cursor" ADD COLUMN "start_from" TEXT, ADD COLUMN "start_position" BIGINT;
