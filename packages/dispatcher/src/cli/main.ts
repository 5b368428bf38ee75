#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { CommanderError } from "commander";
import { SguildError } from "@sguild/contracts";
import { drainFanout, type FanoutRelayOptions } from "../fanout/index.js";
import { DURATION_FORMS } from "../retention/duration.js";
import { parseDuration, pruneTables, PRUNE_DEFAULTS } from "../retention/index.js";
import { assertKnownConsumer, consumerStatus } from "../status/index.js";
import "./cursor.js";
import "./init.js";
import "./dlq.js";
import { databaseUrlFromDotEnv } from "./env.js";
import { iso, table } from "./format.js";
import { jetStreamStatusText, readJetStreamStatus } from "./jetstream.js";
import { confirmOptions, connect, disconnect, globals, print, program, progress, refuseUnconfirmed, UsageError } from "./program.js";
import { tail } from "./tail.js";
import { databaseUnreachable } from "./unreachable.js";

// dist/cli/main.js and src/cli/main.ts both sit two levels below the package root.
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
program.version(version, "-V, --version", "the version of @sguild/dispatcher").configureHelp({ sortSubcommands: true });

program
  .command("status")
  .description(
    "per consumer and event type: cursor position, where it started, lag, last delivery, active dead letters, earliest retained event",
  )
  .option("--consumer <name>", "only this consumer (an unknown name is an error)")
  .option("--jetstream <servers>", "also the JetStream stream's consumers (pending, ack floor) at these NATS URLs (comma-separated)")
  .option("--stream <name>", "the stream --jetstream reads", "SGUILD")
  .action(async (opts: { consumer?: string; jetstream?: string; stream: string }) => {
    const { db, tables } = connect();
    const rows = await consumerStatus(db, tables, opts.consumer);
    if (rows.length === 0 && opts.consumer !== undefined) await assertKnownConsumer(db, tables, opts.consumer);
    // With --jetstream, --json prints one document: { cursors, jetstream }.
    const jetstream = opts.jetstream === undefined ? undefined : await readJetStreamStatus(opts.jetstream, opts.stream);
    if (jetstream && globals().json) return print({ cursors: rows, jetstream }, () => "");
    print(rows, () =>
      rows.length === 0
        ? opts.consumer === undefined
          ? "no consumer cursors yet"
          : `consumer ${opts.consumer} has no cursors`
        : table(
            [
              "CONSUMER",
              "EVENT TYPE",
              "POSITION",
              "STARTED",
              "LAG (EVENTS)",
              "LAG (S)",
              "LAST DELIVERY",
              "RETRYING",
              "DEAD LETTERS",
              "EARLIEST RETAINED",
            ],
            rows.map((r) => [
              r.consumer,
              r.eventType,
              r.position,
              r.startFrom === null ? null : `${r.startFrom} at ${r.startPosition}`,
              r.lagEvents,
              r.lagSeconds.toFixed(1),
              iso(r.lastDeliveredAt),
              r.failedAttempts ? `attempt ${r.failedAttempts + 1} at ${iso(r.retryAt)}` : null,
              r.activeDeadLetters,
              r.earliestRetainedPosition === null ? null : `${r.earliestRetainedPosition} (${iso(r.earliestRetainedAt)})`,
            ]),
          ),
    );
    if (jetstream) console.log(`\n${jetStreamStatusText(jetstream)}`);
  });

program
  .command("tail")
  .description("follow new events live")
  .option("--type <event_type...>", "only these event types")
  .action(async (opts: { type?: string[] }) => {
    const { db, tables } = connect();
    await tail(db, tables, globals().databaseUrl!, opts.type ?? [], globals().json ?? false);
  });

const PRUNED = { events: "events", dedup: "dedup rows", deadLetters: "resolved dead letters" } as const;

confirmOptions(
  program
    .command("prune")
    .description(
      `retention: delete passed events and old bookkeeping ` +
        `(defaults ${PRUNE_DEFAULTS.olderThan} / ${PRUNE_DEFAULTS.resolvedDeadLettersOlderThan}); a duration is ${DURATION_FORMS}`,
    )
    .option("--older-than <duration>", "events every cursor has passed, older than this", PRUNE_DEFAULTS.olderThan)
    .option("--dedup-older-than <duration>", "dedup rows older than this (default: --older-than)")
    .option("--resolved-dead-letters-older-than <duration>", "resolved dead letters", PRUNE_DEFAULTS.resolvedDeadLettersOlderThan)
    .option("--batch-size <rows>", "rows per DELETE statement", String(PRUNE_DEFAULTS.batchSize)),
).action(
  async (opts: {
    olderThan: string;
    dedupOlderThan?: string;
    resolvedDeadLettersOlderThan: string;
    batchSize: string;
    yes?: boolean;
    dryRun?: boolean;
  }) => {
    const olderThan = parseDuration(opts.olderThan, "--older-than");
    const dedupOlderThan = opts.dedupOlderThan === undefined ? olderThan : parseDuration(opts.dedupOlderThan, "--dedup-older-than");
    const resolvedDeadLettersOlderThan = parseDuration(opts.resolvedDeadLettersOlderThan, "--resolved-dead-letters-older-than");
    const batchSize = Number(opts.batchSize);
    if (!/^\d+$/.test(opts.batchSize) || batchSize < 1)
      throw new UsageError(`--batch-size must be a positive integer (got ${JSON.stringify(opts.batchSize)})`);
    refuseUnconfirmed(opts, "prune deletes rows");
    const { db, tables } = connect();
    const dryRun = opts.dryRun ?? false;
    const line = progress();
    const onProgress = ({ table, deleted }: { table: keyof typeof PRUNED; deleted: number }) =>
      line.update(`prune: ${deleted} ${PRUNED[table]} deleted`);
    const result = await pruneTables(db, tables, {
      olderThan,
      dedupOlderThan,
      resolvedDeadLettersOlderThan,
      batchSize,
      dryRun,
      onProgress,
    });
    line.done();
    const counts = `${result.events} events, ${result.dedup} dedup rows, ${result.deadLetters} resolved dead letters`;
    print({ dryRun, ...result }, () => (dryRun ? `dry run, nothing deleted: would delete ${counts}` : `deleted ${counts}`));
  },
);

program
  .command("fanout-drain")
  .description("deliver every pending event to every destination, then exit (non-zero if anything was not delivered)")
  .requiredOption("--config <file>", "a module whose default export is the relay options ({ source, destinations })")
  .option("--timeout <duration>", "give up after this long", "60s")
  .action(async (opts: { config: string; timeout: string }) => {
    const timeoutMs = parseDuration(opts.timeout, "--timeout");
    const { default: config } = (await import(pathToFileURL(resolvePath(opts.config)).href)) as { default: FanoutRelayOptions };
    const line = progress();
    const onProgress = (destinations: Array<{ domain: string; lagEvents: number; deadLetters: number }>) =>
      line.update(`fanout-drain: ${destinations.map((d) => `${d.domain} ${d.lagEvents} undelivered, ${d.deadLetters} parked`).join("; ")}`);
    const result = await drainFanout(config, { timeoutMs, onProgress });
    line.done();
    print(result, () =>
      table(
        ["DESTINATION", "UNDELIVERED", "PARKED (DEAD LETTERS)"],
        result.destinations.map((d) => [d.domain, d.lagEvents, d.deadLetters]),
      ),
    );
    if (!result.ok) process.exitCode = 1;
  });

// Typed errors that say an operation did not succeed (not a usage error): exit 1.
const FAILURE_CODES = new Set(["REPLAY_WAIT_TIMEOUT"]);

async function main(): Promise<void> {
  try {
    try {
      databaseUrlFromDotEnv();
    } catch (dotEnvError) {
      throw new UsageError((dotEnvError as Error).message);
    }
    await program.parseAsync();
  } catch (error) {
    const e = error as Error & { code?: string; exitCode?: number };
    if (error instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
    else if (error instanceof UsageError || SguildError.isInstance(error)) {
      console.error(`sguild-dispatcher: ${e.message}`);
      process.exitCode = e.code && FAILURE_CODES.has(e.code) ? 1 : 2;
    } else if (databaseUnreachable(error)) {
      console.error(`sguild-dispatcher: cannot reach the database: ${e.message || e.code}`);
      process.exitCode = 2;
    } else {
      console.error(`sguild-dispatcher: ${e.message}`);
      process.exitCode = 1;
    }
  } finally {
    await disconnect();
  }
}

void main();
