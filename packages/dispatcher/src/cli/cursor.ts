import { dropConsumer, resetCursor } from "../status/index.js";
import { table } from "./format.js";
import { confirmOptions, connect, print, program, refuseUnconfirmed } from "./program.js";

const cursor = program.command("cursor").description("cursor operations: rewind a consumer, or drop one that will not run again");

confirmOptions(
  cursor
    .command("reset")
    .description("rewind a consumer: the events from --to on are delivered again; those it already applied are skipped unless --reprocess")
    .requiredOption("--consumer <name>", "the consumer")
    .requiredOption("--to <time|event_id>", "an ISO time or an event id")
    .option("--type <event_type>", "only this event type's cursor")
    .option(
      "--reprocess",
      "apply the rewound events again, also those the consumer already applied (deletes its dedup rows for them): a rebuild",
    ),
).action(async (opts: { consumer: string; to: string; type?: string; reprocess?: boolean; yes?: boolean; dryRun?: boolean }) => {
  refuseUnconfirmed(
    opts,
    opts.reprocess
      ? `cursor reset --reprocess rewinds "${opts.consumer}" and applies those events again`
      : `cursor reset rewinds "${opts.consumer}"`,
  );
  const { db, tables } = connect();
  const reprocess = opts.reprocess ?? false;
  const result = await resetCursor(db, tables, {
    consumer: opts.consumer,
    to: opts.to,
    eventType: opts.type,
    reprocess,
    confirm: reprocess ? opts.consumer : undefined,
    dryRun: opts.dryRun,
  });
  const events = result.cursors.reduce((n, c) => n + c.events, 0);
  const apply = result.cursors.reduce((n, c) => n + c.willApply, 0);
  const rows = table(
    ["EVENT TYPE", "FROM", "TO", "EVENTS REWOUND", "TO APPLY", "DEDUP ROWS DELETED"],
    result.cursors.map((c) => [c.eventType, c.from, c.position, c.events, c.willApply, c.forgotten]),
  );
  const summary = result.dryRun
    ? `dry run, nothing changed: would rewind ${events} events, ${apply} of them to be applied` +
      (reprocess ? `, deleting ${result.forgotten} dedup rows` : "")
    : `rewound ${events} events, ${apply} of them to be applied` +
      (reprocess
        ? `; ${result.forgotten} dedup rows deleted`
        : "; the others were applied already and are skipped (--reprocess applies them again)");
  print(result, () => `${rows}\n${summary}`);
});

confirmOptions(
  cursor
    .command("drop")
    .description(
      "forget a consumer that will not run again (a throwaway one pins retention forever): " +
        "deletes its cursors, dedup rows and dead letters",
    )
    .requiredOption("--consumer <name>", "the consumer (stop it first)"),
).action(async (opts: { consumer: string; yes?: boolean; dryRun?: boolean }) => {
  refuseUnconfirmed(opts, `cursor drop deletes the cursors, dedup rows and dead letters of "${opts.consumer}"`);
  const { db, tables } = connect();
  const result = await dropConsumer(db, tables, { consumer: opts.consumer, dryRun: opts.dryRun });
  const rows = table(
    ["EVENT TYPE", "POSITION"],
    result.cursors.map((c) => [c.eventType, c.position]),
  );
  const counts =
    `${result.cursors.length} cursors, ${result.dedup} dedup rows, ` +
    `${result.deadLetters} dead letters (${result.activeDeadLetters} active)`;
  const summary = result.dryRun
    ? `dry run, nothing changed: would delete ${counts} of "${result.consumer}"`
    : `deleted ${counts} of "${result.consumer}"`;
  print(result, () => `${rows}\n${summary}`);
});
