import { DeadLetterService, waitForReplays, type DeadLetter, type PerformedReplay } from "../dlq/index.js";
import { InvalidArgumentError, ReplayWaitTimeoutError } from "../errors/index.js";
import { parseDuration } from "../retention/index.js";
import { assertKnownConsumer } from "../status/index.js";
import { iso, labeled, table } from "./format.js";
import { connect, print, program, progress, UsageError } from "./program.js";

const dlq = program.command("dlq").description("dead letters: list, show, resolve, replay");

const summary = (rows: DeadLetter[]) =>
  table(
    ["ID", "CONSUMER", "EVENT TYPE", "ERROR", "ATTEMPTS", "LAST FAILED", "RESOLVED"],
    rows.map((d) => [
      d.id,
      d.consumer,
      d.eventType,
      `${d.errorClass}: ${d.errorMessage}`.slice(0, 70),
      d.attempts,
      iso(d.lastFailedAt),
      iso(d.resolvedAt),
    ]),
  );

dlq
  .command("list")
  .description("dead letters, newest first: every consumer's, or one consumer's with --consumer")
  .option("--consumer <name>", "only this consumer's (an unknown name is an error)")
  .option("--include-resolved", "also resolved ones")
  .option("--limit <n>", "at most n (1-1000)", "50")
  .option("--group", "active ones grouped by consumer and failure fingerprint")
  .action(async (opts: { consumer?: string; includeResolved?: boolean; limit: string; group?: boolean }) => {
    const { db, tables } = connect();
    const service = new DeadLetterService(db, tables);
    const of = opts.consumer === undefined ? "" : ` for ${opts.consumer}`;
    if (opts.group) {
      const groups = await service.groups(opts.consumer);
      if (groups.length === 0 && opts.consumer !== undefined) await assertKnownConsumer(db, tables, opts.consumer);
      print(groups, () =>
        groups.length === 0
          ? `no active dead letters${of}`
          : table(
              ["COUNT", "CONSUMER", "FINGERPRINT", "EVENT TYPES", "ERROR"],
              groups.map((g) => [
                g.count,
                g.consumer,
                g.fingerprint,
                g.eventTypes.join(","),
                `${g.errorClass}: ${g.sampleMessage}`.slice(0, 70),
              ]),
            ),
      );
      return;
    }
    const options = { includeResolved: opts.includeResolved ?? false, limit: Number(opts.limit) };
    const rows = opts.consumer === undefined ? await service.listAll(options) : await service.list(opts.consumer, options);
    if (rows.length === 0 && opts.consumer !== undefined) await assertKnownConsumer(db, tables, opts.consumer);
    print(rows, () => (rows.length === 0 ? `no ${opts.includeResolved ? "" : "active "}dead letters${of}` : summary(rows)));
  });

const by = (at: Date | null, who: string | null, note?: string | null) =>
  at ? `${iso(at)} by ${who ?? "unknown"}${note ? ` (${note})` : ""}` : "no";

dlq
  .command("show <id>")
  .description("one dead letter, field by field")
  .action(async (id: string) => {
    const { db, tables } = connect();
    const d = await new DeadLetterService(db, tables).get(id);
    print(d, () =>
      labeled([
        ["id", d.id],
        ["consumer", d.consumer],
        ["event type", d.eventType],
        ["event id", d.eventId],
        ["error", `${d.errorClass}: ${d.errorMessage}`],
        ["fingerprint", d.fingerprint],
        ["attempts", d.attempts],
        ["first failed", iso(d.firstFailedAt)],
        ["last failed", iso(d.lastFailedAt)],
        ["resolved", by(d.resolvedAt, d.resolvedBy, d.resolutionNote)],
        ["replay requested", by(d.replayRequestedAt, d.replayRequestedBy)],
        ["stack", d.errorStack],
        ["envelope", JSON.stringify(d.envelope, null, 2)],
      ]),
    );
  });

dlq
  .command("resolve <id>")
  .description("mark it resolved (one-shot)")
  .requiredOption("--by <operator>", "who resolves it")
  .option("--note <text>", "resolution note")
  .action(async (id: string, opts: { by: string; note?: string }) => {
    const { db, tables } = connect();
    const d = await new DeadLetterService(db, tables).resolve(id, { resolvedBy: opts.by, resolutionNote: opts.note });
    print(d, () => `resolved ${d.id} by ${d.resolvedBy}`);
  });

type Result = { outcome: PerformedReplay["outcome"] | "requested"; deadLetter: DeadLetter };

const sentence = ({ outcome, deadLetter: d }: Result): string => {
  switch (outcome) {
    case "requested":
      return `replay of ${d.id} requested; consumer "${d.consumer}" replays it on its next cycle (see: dlq show ${d.id})`;
    case "replayed":
      return `replayed ${d.id}: consumer "${d.consumer}" handled it and resolved it`;
    case "already_delivered":
      return `replayed ${d.id}: consumer "${d.consumer}" already had this event; resolved without handling it again`;
    case "failed":
      return `replay of ${d.id} failed again (attempt ${d.attempts}): ${d.errorClass}: ${d.errorMessage}; it stays active`;
    case "resolved":
      return `${d.id} was resolved meanwhile by ${d.resolvedBy ?? "unknown"}, without a replay`;
  }
};

const OUTCOMES = ["replayed", "already_delivered", "failed", "resolved", "requested"] as const;
const tally = (results: Result[]) =>
  OUTCOMES.map((o) => [o, results.filter((r) => r.outcome === o).length] as const)
    .filter(([, n]) => n > 0)
    .map(([o, n]) => `${n} ${o === "requested" ? "not performed yet" : o.replace("_", " ")}`)
    .join(", ");

dlq
  .command("replay [id]")
  .description(
    "ask the running consumer that owns it (which has the handler) to replay it within a second; " +
      "--group: every active letter of one fingerprint",
  )
  .requiredOption("--by <operator>", "who asks")
  .option("--group <fingerprint>", "replay every active dead letter of this failure fingerprint (see dlq list --group)")
  .option("--consumer <name>", "with --group: only this consumer's letters")
  .option("--wait", "wait until the owning consumer performed the replay, print its outcome (exit 1 when it failed again)")
  .option("--timeout <duration>", "with --wait: give up after this long (exit 1; the request stays)", "60s")
  .action(async (id: string | undefined, opts: { by: string; group?: string; consumer?: string; wait?: boolean; timeout: string }) => {
    if ((id === undefined) === (opts.group === undefined))
      throw new UsageError("dlq replay: give a dead letter id or --group <fingerprint> (one of them)");
    if (opts.consumer !== undefined && opts.group === undefined) throw new UsageError("dlq replay: --consumer is read only with --group");
    const timeoutMs = parseDuration(opts.timeout, "--timeout");
    const { db, tables } = connect();
    const service = new DeadLetterService(db, tables);
    let requested: DeadLetter[];
    if (id !== undefined) requested = [await service.requestReplay(id, { requestedBy: opts.by })];
    else {
      if (opts.consumer !== undefined) await assertKnownConsumer(db, tables, opts.consumer);
      requested = await service.requestGroupReplay(opts.group!, { requestedBy: opts.by, consumer: opts.consumer });
      if (requested.length === 0) {
        throw new InvalidArgumentError(
          `no active dead letters with fingerprint ${opts.group}${opts.consumer === undefined ? "" : ` of consumer "${opts.consumer}"`}`,
          "group",
        );
      }
    }
    const consumers = [...new Set(requested.map((d) => d.consumer))].sort();
    let results: Result[] = requested.map((deadLetter) => ({ outcome: "requested", deadLetter }));
    let pending: DeadLetter[] = [];
    if (opts.wait) {
      const line = progress();
      const whose = consumers.map((c) => `"${c}"`).join(", ");
      line.update(
        `replay: waiting up to ${opts.timeout} for consumer ${whose} to replay ` +
          `${requested.length} dead letter${requested.length === 1 ? "" : "s"}`,
      );
      const waited = await waitForReplays(db, tables, requested, {
        timeoutMs,
        onPerformed: (r, done, total) => line.update(`replay: ${done}/${total} ${r.deadLetter.id} ${r.outcome.replace("_", " ")}`),
      });
      line.done();
      pending = waited.pending;
      results = results.map((r) => waited.performed.find((p) => p.deadLetter.id === r.deadLetter.id) ?? r);
    }
    if (id !== undefined) print(results[0], () => sentence(results[0]!));
    else {
      const rows = table(
        ["ID", "CONSUMER", "EVENT TYPE", "OUTCOME", "ATTEMPTS", "ERROR"],
        results.map(({ outcome, deadLetter: d }) => [
          d.id,
          d.consumer,
          d.eventType,
          outcome,
          d.attempts,
          outcome === "failed" ? `${d.errorClass}: ${d.errorMessage}`.slice(0, 70) : null,
        ]),
      );
      const tail = opts.wait
        ? tally(results)
        : `replay requested of consumer ${consumers.map((c) => `"${c}"`).join(", ")}; it replays them on its next cycle`;
      print({ fingerprint: opts.group, results }, () => `${rows}\ngroup ${opts.group}: ${tail}`);
    }
    if (pending.length > 0)
      throw new ReplayWaitTimeoutError(
        pending.map((d) => d.id),
        [...new Set(pending.map((d) => d.consumer))].sort(),
        timeoutMs,
      );
    if (results.some((r) => r.outcome === "failed")) process.exitCode = 1;
  });
