// pnpm demo [--keep]: a scripted week of business across Revenue and Coaching, each with its own
// database on an embedded PostgreSQL, events crossing through the fanout relay. Prints Revenue's
// reservations next to Coaching's availability, the consumer lag and the dead letters, and exits
// non-zero if the projection disagrees with Revenue's truth. --keep leaves everything running and
// serves the operator console (createConsole) of both databases on loopback. --transport jetstream
// carries the events through NATS JetStream instead (a nats-server started here; the JetStream relay
// beside Revenue, the JetStream inbox beside Coaching).
import { spawn } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { consumerStatus, createConsole, createDispatcher, silentLogger, tablesFor, toNodeHandler } from "@sguild/dispatcher";
import { startTestPostgres, createTestDatabase } from "@sguild/prisma-fragment/testing";
import { runWeek, expectedAvailability } from "./demo-week.mjs";

const keep = process.argv.includes("--keep");
const transportArg = process.argv.indexOf("--transport");
const transport = transportArg === -1 ? "database" : process.argv[transportArg + 1];
if (transport !== "database" && transport !== "jetstream") {
  console.error(`demo: --transport is database (the fanout relay, default) or jetstream (got ${transport})`);
  process.exit(2);
}
const jetstreamDemo = transport === "jetstream" ? await import("./demo-jetstream.mjs") : undefined;
const relayName = jetstreamDemo ? "JetStream relay" : "fanout relay";
const app = (name) => fileURLToPath(new URL(`../apps/${name}/dist/main.js`, import.meta.url));
const children = [];

function start(name, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [app(name)], {
      env: { ...process.env, ...env, PORT: "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    child.stdout.on("data", (chunk) => {
      const match = /listening on (http:\/\/\S+)/.exec(chunk.toString());
      if (match) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

// The demo console's authorize hook: everything is allowed, on loopback only. The server listens on
// 127.0.0.1 alone, and a request naming another host (what a DNS-rebinding page sends) is refused.
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/;
const loopbackOnly = (request) =>
  LOOPBACK_HOST.test(request.headers.get("host") ?? "") || {
    allowed: false,
    status: 403,
    reason: "the demo console answers on loopback only",
  };

/** One server on 127.0.0.1 with a console per domain at /{name}/; its dispatchers run no consumer (a replay is requested of the app's). */
async function serveConsoles(domains) {
  const consoles = domains.map(({ name, producer, databaseUrl }) => {
    const dispatcher = createDispatcher({ producer, tenantId: "tnt_sguild", databaseUrl, logger: silentLogger });
    return {
      base: `/${name}`,
      dispatcher,
      serve: toNodeHandler(createConsole({ dispatcher, basePath: `/${name}`, authorize: loopbackOnly })),
    };
  });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const found = consoles.find((c) => path === c.base || path.startsWith(`${c.base}/`));
    if (found) return found.serve(req, res);
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`consoles: ${consoles.map((c) => `${c.base}/`).join(" ")}\n`);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      for (const c of consoles) await c.dispatcher.close();
    },
  };
}

async function stopAll() {
  await Promise.all(
    children.map((c) =>
      c.exitCode !== null
        ? undefined
        : new Promise((r) => {
            c.once("exit", r);
            c.kill("SIGTERM");
          }),
    ),
  );
}

console.log(`Sguild dispatcher demo: Revenue and Coaching, one database each, events through the ${relayName}\n`);
const server = await startTestPostgres().catch((error) => {
  // Anything the embedded PostgreSQL cannot do is one line saying what to do (EmbeddedPostgresError).
  if (!String(error?.code).startsWith("EMBEDDED_POSTGRES_")) throw error;
  console.error(`demo: ${error.message}`);
  process.exit(1);
});
let failed = true;
let consoles;
let jetstream;
try {
  const [revenueDb, coachingDb] = await Promise.all([
    createTestDatabase({ adminUrl: server.adminUrl, migrate: false }),
    createTestDatabase({ adminUrl: server.adminUrl, migrate: false }),
  ]);
  console.log(`• embedded PostgreSQL up; databases ${revenueDb.name} (revenue) and ${coachingDb.name} (coaching)`);
  const revenueUrl = await start("revenue-reference", {
    DATABASE_URL: revenueDb.url,
    ...(jetstreamDemo ? {} : { COACHING_DATABASE_URL: coachingDb.url }),
    ADMIN_TOKEN: "demo",
  });
  const coachingUrl = await start("coaching-reference", { DATABASE_URL: coachingDb.url, ADMIN_TOKEN: "demo" });
  // With JetStream, Revenue's app runs no fanout relay: the JetStream relay and inbox run here (once the apps migrated).
  if (jetstreamDemo) jetstream = await jetstreamDemo.startJetStream(revenueDb.url, coachingDb.url, (line) => console.log(line));
  console.log(`• revenue API ${revenueUrl} (with the ${relayName}), coaching API ${coachingUrl}; migrations applied\n`);

  const week = await runWeek(revenueUrl, (line) => console.log(`  ${line}`));
  const expected = expectedAvailability(week);

  const deadline = Date.now() + 20_000;
  let lessons = [];
  while (Date.now() < deadline) {
    lessons = (await (await fetch(`${coachingUrl}/availability`)).json()).lessons;
    if (JSON.stringify(lessons) === JSON.stringify(expected)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const reservations = (await (await fetch(`${revenueUrl}/reservations`)).json()).reservations;
  const coachingStatus = await (await fetch(`${coachingUrl}/status`)).json();
  // The JetStream relay publishes every type Revenue produces, Coaching's or not: let it finish.
  if (jetstream) await jetstream.settle(deadline);
  const revenuePool = new pg.Pool({ connectionString: revenueDb.url });
  const relay = await consumerStatus(
    { query: async (t, v) => (await revenuePool.query(t, v)).rows },
    tablesFor("public"),
    jetstream ? jetstream.relayConsumer : "fanout:coaching",
  );
  const handoffs = (await revenuePool.query("SELECT count(*)::int AS n FROM dispatcher_event WHERE event_type = 'customer.handoff'"))
    .rows[0].n;
  await revenuePool.end();

  // Revenue's truth: a slot is held unless the reservation was released or forfeited.
  const truth = Object.keys(week.lessonNames)
    .sort()
    .map((lesson) => ({
      lesson_id: lesson,
      held_slots: reservations.filter((r) => r.lesson_id === lesson && r.state !== "released" && r.state !== "forfeited").length,
    }));
  console.log("\nRevenue's reservations (the truth)                      Coaching's availability (the projection)");
  const byLesson = new Map(lessons.map((l) => [l.lesson_id, l.held_slots]));
  const names = week.lessonNames;
  for (const lesson of Object.keys(names)) {
    const rs = reservations
      .filter((r) => r.lesson_id === lesson)
      .map((r) => `${week.personNames[r.person_id]}:${r.state}/${r.funding_state}`)
      .join(", ");
    const want = truth.find((l) => l.lesson_id === lesson)?.held_slots ?? 0;
    const got = byLesson.get(lesson) ?? 0;
    console.log(
      `  ${names[lesson].padEnd(10)} ${rs.padEnd(52)} ${String(got).padStart(2)} held ` +
        `${got === want ? "✓" : `✗ (Revenue implies ${want})`}`,
    );
  }
  const relayLag = relay.reduce((n, r) => n + r.lagEvents, 0);
  const relayDead = relay.reduce((n, r) => n + r.activeDeadLetters, 0);
  console.log(`\n  customer.handoff sidecars published: ${handoffs} (one per Person)`);
  console.log(`  consumer lag: ${relayName} ${relayLag} events, coaching projection ${coachingStatus.lag_events} events`);
  console.log(`  dead letters: ${relayName} ${relayDead}, coaching projection ${coachingStatus.dead_letters}`);
  if (jetstream) console.log(`  JetStream inbox: ${await jetstream.summary()}`);
  failed =
    JSON.stringify(lessons) !== JSON.stringify(truth) ||
    JSON.stringify(truth) !== JSON.stringify(expected) ||
    relayLag + coachingStatus.lag_events + relayDead + coachingStatus.dead_letters !== 0;
  console.log(
    failed
      ? "\ndemo FAILED: Coaching's projection disagrees with Revenue's truth"
      : "\ndemo finished: Coaching's projection matches Revenue's truth",
  );
  if (keep) {
    consoles = await serveConsoles([
      { name: "revenue", producer: "revenue", databaseUrl: revenueDb.url },
      { name: "coaching", producer: "coaching", databaseUrl: coachingDb.url },
    ]);
    console.log(
      `\n--keep: services are running.\n` +
        `  revenue  ${revenueUrl}/reservations\n` +
        `  coaching ${coachingUrl}/availability\n` +
        `  coaching ${coachingUrl}/status\n` +
        `  DLQ      ${coachingUrl}/api/dispatcher/v1/dlq?consumer=coaching-availability  (Authorization: Bearer demo)\n` +
        `  console  ${consoles.url}/revenue/   (Revenue's database: the fanout relay, what Revenue published)\n` +
        `  console  ${consoles.url}/coaching/  (Coaching's database: the availability projection)\n` +
        `           the consoles' authorize hook allows everything, on loopback only ` +
        `(listening on 127.0.0.1; a request naming another host is refused 403)\n` +
        `  database ${server.adminUrl}\n` +
        `Ctrl-C to stop.`,
    );
    await new Promise((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
  }
} finally {
  await consoles?.close();
  await jetstream?.close();
  await stopAll();
  await server.stop();
}
process.exit(failed ? 1 : 0);
