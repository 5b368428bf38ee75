#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import { SguildError } from "@sguild/contracts";
import { tablesFor } from "../config/index.js";
import { fromPgPool, openPool, type Database } from "../database/index.js";
import { DeadLetterService, type DeadLetter } from "../dlq/index.js";
import { deadLetterJson } from "../http/responses.js";
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { drainFanout, type FanoutRelayOptions } from "../fanout/index.js";
import { parseDuration, pruneTables, PRUNE_DEFAULTS } from "../retention/index.js";
import { consumerStatus, resetCursor } from "../status/index.js";
import { iso, table } from "./format.js";
import { tail } from "./tail.js";

interface Globals {
  databaseUrl?: string;
  schema: string;
  json?: boolean;
}

const program = new Command("sguild-dispatcher")
  .description("Operate the Sguild dispatcher: consumer status, dead letters, live tail, cursor rewind, retention.")
  .addOption(new Option("--database-url <url>", "Postgres URL").env("DATABASE_URL"))
  .option("--schema <name>", "Postgres schema of the dispatcher tables", "public")
  .option("--json", "machine-readable output")
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

let opened: Database | undefined;
function connect(): { db: Database; tables: ReturnType<typeof tablesFor>; globals: Globals } {
  const globals = program.opts<Globals>();
  if (!globals.databaseUrl) throw new UsageError("no database: pass --database-url or set DATABASE_URL");
  const pool = openPool(globals.databaseUrl, undefined, { max: 2, connectionTimeoutMillis: 5000 });
  pool.on("error", () => undefined);
  opened = fromPgPool(pool, true);
  return { db: opened, tables: tablesFor(globals.schema), globals };
}

class UsageError extends Error {}

const print = (globals: Globals, json: unknown, text: () => string) => console.log(globals.json ? JSON.stringify(json, null, 2) : text());

program
  .command("status")
  .description("per consumer and event type: cursor position, where it started, lag, last delivery, active dead letters, earliest retained event")
  .option("--consumer <name>", "only this consumer")
  .action(async (opts: { consumer?: string }) => {
    const { db, tables, globals } = connect();
    const rows = await consumerStatus(db, tables, opts.consumer);
    print(globals, rows, () =>
      rows.length === 0
        ? "no consumer cursors yet"
        : table(
            ["CONSUMER", "EVENT TYPE", "POSITION", "STARTED", "LAG (EVENTS)", "LAG (S)", "LAST DELIVERY", "RETRYING", "DEAD LETTERS", "EARLIEST RETAINED"],
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
  });

const dlq = program.command("dlq").description("dead letters: list, show, resolve, replay");
const summary = (rows: DeadLetter[]) =>
  table(["ID", "EVENT TYPE", "ERROR", "ATTEMPTS", "LAST FAILED", "RESOLVED"], rows.map((d) => [d.id, d.eventType, `${d.errorClass}: ${d.errorMessage}`.slice(0, 70), d.attempts, iso(d.lastFailedAt), iso(d.resolvedAt)]));

dlq
  .command("list")
  .requiredOption("--consumer <name>", "the consumer")
  .option("--include-resolved", "also resolved ones")
  .option("--limit <n>", "at most n (1-1000)", "50")
  .option("--group", "group by failure fingerprint")
  .action(async (opts: { consumer: string; includeResolved?: boolean; limit: string; group?: boolean }) => {
    const { db, tables, globals } = connect();
    const service = new DeadLetterService(db, tables);
    if (opts.group) {
      const groups = await service.groups(opts.consumer);
      print(globals, groups, () => table(["COUNT", "FINGERPRINT", "EVENT TYPES", "ERROR"], groups.map((g) => [g.count, g.fingerprint, g.eventTypes.join(","), `${g.errorClass}: ${g.sampleMessage}`.slice(0, 70)])));
      return;
    }
    const limit = Number(opts.limit);
    const rows = await service.list(opts.consumer, { includeResolved: opts.includeResolved ?? false, limit });
    print(globals, rows.map(deadLetterJson), () => (rows.length === 0 ? `no ${opts.includeResolved ? "" : "active "}dead letters for ${opts.consumer}` : summary(rows)));
  });

dlq
  .command("show <id>")
  .action(async (id: string) => {
    const { db, tables, globals } = connect();
    const d = await new DeadLetterService(db, tables).get(id);
    print(globals, deadLetterJson(d), () =>
      [
        `${d.id}  ${d.consumer}  ${d.eventType}  ${d.eventId}`,
        `attempts ${d.attempts}, first failed ${iso(d.firstFailedAt)}, last failed ${iso(d.lastFailedAt)}`,
        `resolved: ${d.resolvedAt ? `${iso(d.resolvedAt)} by ${d.resolvedBy}${d.resolutionNote ? ` (${d.resolutionNote})` : ""}` : "no"}`,
        `${d.errorClass}: ${d.errorMessage}`,
        d.errorStack ?? "",
        JSON.stringify(d.envelope, null, 2),
      ].join("\n"),
    );
  });

dlq
  .command("resolve <id>")
  .requiredOption("--by <operator>", "who resolves it")
  .option("--note <text>", "resolution note")
  .action(async (id: string, opts: { by: string; note?: string }) => {
    const { db, tables, globals } = connect();
    const d = await new DeadLetterService(db, tables).resolve(id, { resolvedBy: opts.by, resolutionNote: opts.note });
    print(globals, deadLetterJson(d), () => `resolved ${d.id} by ${d.resolvedBy}`);
  });

dlq
  .command("replay <id>")
  .description("ask the running consumer (which has the handler) to replay it within a second")
  .requiredOption("--by <operator>", "who asks")
  .action(async (id: string, opts: { by: string }) => {
    const { db, tables, globals } = connect();
    const d = await new DeadLetterService(db, tables).requestReplay(id, { requestedBy: opts.by });
    print(globals, deadLetterJson(d), () => `replay of ${d.id} requested; consumer "${d.consumer}" replays it on its next cycle (see: dlq show ${d.id})`);
  });

program
  .command("tail")
  .description("follow new events live")
  .option("--type <event_type...>", "only these event types")
  .action(async (opts: { type?: string[] }) => {
    const { db, tables, globals } = connect();
    await tail(db, tables, program.opts<Globals>().databaseUrl!, opts.type ?? [], globals.json ?? false);
  });

// cursor reset and prune change or delete rows: without --yes they refuse (exit 2) before connecting.
const confirmOptions = (command: Command) =>
  command.addOption(new Option("--yes", "really do it")).addOption(new Option("--dry-run", "print what it would do; change nothing").conflicts("yes"));
const refuseUnconfirmed = (opts: { yes?: boolean; dryRun?: boolean }, what: string) => {
  if (!opts.yes && !opts.dryRun) throw new UsageError(`${what}: pass --yes to do it, or --dry-run to see what it would do`);
};

confirmOptions(
  program
    .command("cursor")
    .description("cursor operations")
    .command("reset")
    .description("rewind a consumer: the events from --to on are delivered again; those it already applied are skipped unless --reprocess")
    .requiredOption("--consumer <name>", "the consumer")
    .requiredOption("--to <time|event_id>", "an ISO time or an event id")
    .option("--type <event_type>", "only this event type's cursor")
    .option("--reprocess", "apply the rewound events again, also those the consumer already applied (deletes its dedup rows for them): a rebuild"),
).action(async (opts: { consumer: string; to: string; type?: string; reprocess?: boolean; yes?: boolean; dryRun?: boolean }) => {
  refuseUnconfirmed(opts, opts.reprocess ? `cursor reset --reprocess rewinds "${opts.consumer}" and applies those events again` : `cursor reset rewinds "${opts.consumer}"`);
  const { db, tables, globals } = connect();
  const reprocess = opts.reprocess ?? false;
  const result = await resetCursor(db, tables, { consumer: opts.consumer, to: opts.to, eventType: opts.type, reprocess, confirm: reprocess ? opts.consumer : undefined, dryRun: opts.dryRun });
  const events = result.cursors.reduce((n, c) => n + c.events, 0);
  const apply = result.cursors.reduce((n, c) => n + c.willApply, 0);
  const rows = table(["EVENT TYPE", "FROM", "TO", "EVENTS REWOUND", "TO APPLY", "DEDUP ROWS DELETED"], result.cursors.map((c) => [c.eventType, c.from, c.position, c.events, c.willApply, c.forgotten]));
  const summary = result.dryRun
    ? `dry run, nothing changed: would rewind ${events} events, ${apply} of them to be applied${reprocess ? `, deleting ${result.forgotten} dedup rows` : ""}`
    : `rewound ${events} events, ${apply} of them to be applied${reprocess ? `; ${result.forgotten} dedup rows deleted` : "; the others were applied already and are skipped (--reprocess applies them again)"}`;
  print(globals, result, () => `${rows}\n${summary}`);
});

confirmOptions(
  program
    .command("prune")
    .description(`retention: delete passed events and old bookkeeping (defaults ${PRUNE_DEFAULTS.olderThan} / ${PRUNE_DEFAULTS.resolvedDeadLettersOlderThan})`)
    .option("--older-than <duration>", "events every cursor has passed, older than this", PRUNE_DEFAULTS.olderThan)
    .option("--dedup-older-than <duration>", "dedup rows older than this (default: --older-than)")
    .option("--resolved-dead-letters-older-than <duration>", "resolved dead letters", PRUNE_DEFAULTS.resolvedDeadLettersOlderThan),
).action(async (opts: { olderThan: string; dedupOlderThan?: string; resolvedDeadLettersOlderThan: string; yes?: boolean; dryRun?: boolean }) => {
  refuseUnconfirmed(opts, "prune deletes rows");
  const { db, tables, globals } = connect();
  const dryRun = opts.dryRun ?? false;
  const result = await pruneTables(db, tables, { olderThan: opts.olderThan, dedupOlderThan: opts.dedupOlderThan, resolvedDeadLettersOlderThan: opts.resolvedDeadLettersOlderThan, dryRun });
  const counts = `${result.events} events, ${result.dedup} dedup rows, ${result.deadLetters} resolved dead letters`;
  print(globals, { dryRun, ...result }, () => (dryRun ? `dry run, nothing deleted: would delete ${counts}` : `deleted ${counts}`));
});

program
  .command("fanout-drain")
  .description("deliver every pending event to every destination, then exit (non-zero if anything was not delivered)")
  .requiredOption("--config <file>", "a module whose default export is the relay options ({ source, destinations })")
  .option("--timeout <duration>", "give up after this long", "60s")
  .action(async (opts: { config: string; timeout: string }) => {
    const globals = program.opts<Globals>();
    const { default: config } = (await import(pathToFileURL(resolvePath(opts.config)).href)) as { default: FanoutRelayOptions };
    const result = await drainFanout(config, { timeoutMs: parseDuration(opts.timeout, "timeout") });
    print(globals, result, () => table(["DESTINATION", "UNDELIVERED", "PARKED (DEAD LETTERS)"], result.destinations.map((d) => [d.domain, d.lagEvents, d.deadLetters])));
    if (!result.ok) process.exitCode = 1;
  });

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "28P01", "28000", "3D000"]);

async function main(): Promise<void> {
  try {
    await program.parseAsync();
  } catch (error) {
    const e = error as Error & { code?: string; exitCode?: number };
    if (error instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
    else if (error instanceof UsageError || SguildError.isInstance(error)) {
      console.error(`sguild-dispatcher: ${e.message}`);
      process.exitCode = 2;
    } else if ((e.code && CONNECTION_CODES.has(e.code)) || /timeout|connect/i.test(e.message)) {
      console.error(`sguild-dispatcher: cannot reach the database: ${e.message || e.code}`);
      process.exitCode = 2;
    } else {
      console.error(`sguild-dispatcher: ${e.message}`);
      process.exitCode = 1;
    }
  } finally {
    await opened?.close().catch(() => undefined);
  }
}

void main();
