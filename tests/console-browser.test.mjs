// The operator console in a real browser: Debian's Chromium driven by playwright-core (no browser is
// downloaded), against createConsole served by Node's http over a database seeded through the built
// packages: a producer publishes, a running consumer fails some events into dead letters, a second
// consumer is stopped with a backlog, three events share a correlation id. Each test does what an
// operator would, asserts exactly what the page shows and what the consumer received, and writes a
// screenshot of the page to docs/images/console-*.png (shown in docs/operating.md).
import { existsSync, mkdirSync } from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConsole, createDispatcher, silentLogger, toNodeHandler } from "@sguild/dispatcher";
import { createTestDatabase, startTestPostgres } from "@sguild/prisma-fragment/testing";
import { id, sleep, until } from "./browser-support.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const IMAGES = fileURLToPath(new URL("../docs/images/", import.meta.url));
const BASE = "/ops/dispatcher";
const COACHING = "coaching-availability";
const LEDGER = "delivery-ledger";
const OPERATOR = "ops-ada";
const HOSTILE = `<img src="x" onerror="window.__pwned = 1"><script>window.__pwned = 2</script>`;

const reserved = (lesson = id("les")) => ({
  event_type: "credit.reserved",
  subject: id("per"),
  payload: {
    credit_reservation_id: id("crr"),
    credit_account_id: id("crd_acct"),
    person_id: id("per"),
    lesson_id: lesson,
    organization_id: "org_sguild",
    reserved_credits: 2,
    reserved_at: new Date().toISOString(),
    lesson_starts_at: new Date(Date.now() + 86_400_000).toISOString(),
  },
});
const released = (reservation = id("crr")) => ({
  event_type: "credit.released",
  schema_version: 1,
  payload: {
    credit_reservation_id: reservation,
    credit_account_id: id("crd_acct"),
    released_credits: 2,
    initiator: "customer",
    reversal_reason: "Credits Released",
    cancelled_at: new Date().toISOString(),
  },
});
const locked = (lesson = id("les")) => ({
  event_type: "credit.locked",
  subject: id("per"),
  payload: {
    credit_reservation_id: id("crr"),
    lesson_id: lesson,
    person_id: id("per"),
    locked_credits: 2,
    locked_at: new Date().toISOString(),
  },
});

let server, db, pool, producer, coaching, ledger, httpServer, origin, browser;
const received = []; // event ids coaching-availability's handlers committed, in order
const failingLessons = new Set(); // credit.locked events for these lessons fail (into dead letters)
const seeded = {};

/** The authorize hook: a `role` cookie (or an `x-console-role` header) of viewer reads, of operator also operates. */
function authorize(request, access) {
  const cookie = /(?:^|;\s*)role=(\w+)/.exec(request.headers.get("cookie") ?? "")?.[1];
  const role = cookie ?? request.headers.get("x-console-role");
  if (role !== "viewer" && role !== "operator") return role ? { allowed: false, status: 403 } : { allowed: false, status: 401 };
  return access === "read" || role === "operator" || { allowed: false, status: 403 };
}

/** A browser of its own (cookies, storage) with that role; the operator name in the header set unless `operator` is null. */
async function newPage(role, operator = OPERATOR) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (role) await context.addCookies([{ name: "role", value: role, url: origin }]);
  if (operator) await context.addInitScript((name) => localStorage.setItem("sguild-console.operator", name), operator);
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error.message));
  page.on(
    "console",
    (m) => m.type() === "error" && !/the server responded with a status of 4\d\d/.test(m.text()) && page.errors.push(m.text()),
  );
  return page;
}

/** Opens a page of the console and waits until it has drawn it. */
async function open(page, hash) {
  await page.goto(`${origin}${BASE}/${hash}`);
  await drawn(page);
}
/** Waits until the page of the current hash is drawn (app.js marks main with the hash it drew). */
const drawn = (page) =>
  page.waitForFunction(() => {
    const main = document.querySelector("main#app");
    return main.dataset.drawn === location.hash && !main.hasAttribute("aria-busy");
  });
const text = (locator) => locator.innerText().then((t) => t.trim());
const cells = (row) =>
  row
    .locator("td")
    .allInnerTexts()
    .then((all) => all.map((t) => t.trim()));

/** Waits for an operation's outcome and answers its title and lines. */
async function outcome(page, title) {
  await page
    .waitForFunction((t) => document.querySelector("#outcome:not([hidden]) strong")?.textContent === t, title, { timeout: 15_000 })
    .catch(async () => {
      throw new Error(`the outcome shown is "${await page.locator("#outcome").innerText()}", not "${title}"`);
    });
  return { kind: await page.locator("#outcome").getAttribute("class"), lines: await page.locator("#outcome li").allInnerTexts() };
}

/** The section of a page under this heading. */
const panel = (page, title) => page.locator("section.panel").filter({ has: page.getByRole("heading", { name: title, exact: true }) });
const shot = (page, name) => page.screenshot({ path: `${IMAGES}console-${name}.png` });

beforeAll(async () => {
  // Never skipped: without the browser the suite fails saying what to install.
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} for the console's browser tests: apt-get install chromium`);
  mkdirSync(IMAGES, { recursive: true });
  server = await startTestPostgres();
  db = await createTestDatabase({ adminUrl: server.adminUrl });
  pool = new pg.Pool({ connectionString: db.url, max: 10 });
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool });

  coaching = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool, databaseUrl: db.url, logger: silentLogger });
  const apply = async (event, ctx) => {
    if (failingLessons.has(event.payload.lesson_id)) throw new RangeError(`slot for ${event.payload.lesson_id} is gone`);
    await ctx.tx.query("SELECT 1");
    received.push(event.event_id);
  };
  coaching.subscribe("credit.reserved", apply);
  coaching.subscribe("credit.locked", apply);
  ledger = createDispatcher({ producer: "delivery", tenantId: "tnt_sguild", pool, databaseUrl: db.url });
  ledger.subscribe("credit.locked", async () => undefined);

  // Five reservations, four locks of which two fail: two dead letters with one fingerprint.
  const failing = [id("les"), id("les")];
  for (const lesson of failing) failingLessons.add(lesson);
  await producer.publishMany([reserved(), reserved(), reserved(), reserved(), reserved()]);
  seeded.failed = await producer.publishMany([locked(failing[0]), locked(), locked(failing[1]), locked()]);
  await coaching.start({ consumer: COACHING, pollIntervalMs: 100, retryDelaysMs: [10] });
  await ledger.start({ consumer: LEDGER, pollIntervalMs: 100 });
  const count = async (sql, values) => Number((await pool.query(sql, values)).rows[0].n);
  const settled = async (consumer, n) => (await count("SELECT count(*) AS n FROM dispatcher_dedup WHERE consumer = $1", [consumer])) === n;
  await until(() => settled(LEDGER, 4), "the ledger's deliveries");
  await until(
    async () => (await settled(COACHING, 7)) && (await count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === 2,
    "coaching's deliveries and dead letters",
  );
  await ledger.stop();

  // A flow: three events sharing one correlation id (a reservation, its lock, its release); then two
  // more locks, so the stopped ledger lags by three.
  seeded.correlationId = id("evt");
  seeded.flow = [];
  const flowReservation = reserved();
  const flowLock = { ...locked(flowReservation.payload.lesson_id), subject: flowReservation.subject };
  flowLock.payload.credit_reservation_id = flowReservation.payload.credit_reservation_id;
  const flowRelease = { ...released(flowReservation.payload.credit_reservation_id), subject: flowReservation.subject };
  flowRelease.payload.reason_note = HOSTILE; // shown as text, never parsed as markup
  for (const emit of [flowReservation, flowLock, flowRelease])
    seeded.flow.push(await producer.publish({ ...emit, correlation_id: seeded.correlationId }));
  await producer.publishMany([locked(), locked()]);
  await until(() => settled(COACHING, 11), "coaching's deliveries of the flow");

  const consoleHandler = createConsole({ dispatcher: coaching, basePath: BASE, authorize });
  httpServer = http.createServer(toNodeHandler(consoleHandler));
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${httpServer.address().port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (httpServer ? httpServer.close(resolve) : resolve()));
  await coaching?.close();
  await ledger?.close();
  await producer?.close();
  await pool?.end();
  await db?.drop();
  await server?.stop();
});

describe("the operator console in Chromium", () => {
  it("refuses a browser without a session (401) and one without the role (403); a viewer reads but cannot operate", async () => {
    const stranger = await newPage(undefined);
    const refused = await stranger.goto(`${origin}${BASE}/`);
    expect(refused.status()).toBe(401);
    expect(JSON.parse(await refused.text())).toEqual({ error: { code: "UNAUTHORIZED", message: "authentication required" } });
    await stranger.context().addCookies([{ name: "role", value: "guest", url: origin }]);
    expect((await stranger.goto(`${origin}${BASE}/`)).status()).toBe(403);
    await stranger.context().close();

    const viewer = await newPage("viewer");
    await open(viewer, `#/consumers/${COACHING}`);
    await viewer.getByRole("button", { name: "Pause credit.locked" }).click();
    const { kind } = await outcome(viewer, "Pausing credit.locked refused: 403 FORBIDDEN: forbidden");
    expect(kind).toBe("outcome error");
    expect(await cells(viewer.locator(`tr[data-event-type="credit.locked"]`))).toContain("delivering");
    expect(
      (await pool.query("SELECT paused_at FROM dispatcher_cursor WHERE consumer = $1 AND event_type = 'credit.locked'", [COACHING])).rows[0]
        .paused_at,
    ).toBeNull();
    await shot(viewer, "refused-operate");

    // The session ends while the page is open: the next load shows the sign-in state.
    await viewer.context().clearCookies();
    await viewer.getByRole("navigation").getByRole("link", { name: "Overview" }).click();
    await viewer.waitForSelector("section.refused[data-status='401']");
    expect(await text(viewer.locator("main h1"))).toBe("Sign in required (401)");
    await shot(viewer, "refused");
    expect(viewer.errors).toEqual([]);
    await viewer.context().close();
  });

  it("the overview shows each consumer with its types, lag, replicas and dead letters, and what was published", async () => {
    const page = await newPage("operator");
    await open(page, "#/");
    expect(await page.title()).toBe("Overview · Sguild dispatcher");
    expect(await page.locator("article.consumer h3").allInnerTexts()).toEqual([COACHING, LEDGER]);

    const coachingCard = page.locator(`article[data-consumer="${COACHING}"]`);
    expect(await coachingCard.locator(".consumer-head .badge").allInnerTexts()).toEqual([
      "running · 1 replica",
      "lag 0 events, 0 s",
      "2 active dead letters",
    ]);
    expect(await cells(coachingCard.locator(`table.types tr[data-event-type="credit.locked"]`))).toEqual([
      "credit.locked",
      "0",
      "0 s",
      "delivering",
    ]);
    expect(await cells(coachingCard.locator(`table.types tr[data-event-type="credit.reserved"]`))).toEqual([
      "credit.reserved",
      "0",
      "0 s",
      "delivering",
    ]);
    const [replica] = await pool
      .query("SELECT instance_id, host, pid, version, event_types FROM dispatcher_consumer_instance WHERE consumer = $1", [COACHING])
      .then((r) => r.rows);
    expect([replica.pid, [...replica.event_types].sort()]).toEqual([process.pid, ["credit.locked", "credit.reserved"]]);
    const replicaCells = await cells(coachingCard.locator("table.instances tbody tr"));
    expect(replicaCells.slice(0, 5)).toEqual([
      replica.instance_id,
      replica.host,
      String(process.pid),
      replica.version,
      replica.event_types.join(", "),
    ]);
    expect(replicaCells[6]).toMatch(/^\d+ s ago$/);
    expect(replicaCells[7]).toBe("live");
    expect(await text(coachingCard.locator("figcaption"))).toBe("Delivered: 11 in the last hour");
    expect(await coachingCard.locator("svg.chart rect.bar").count()).toBe(60);

    const ledgerCard = page.locator(`article[data-consumer="${LEDGER}"]`);
    expect(await ledgerCard.locator(".consumer-head .badge").allInnerTexts()).toEqual([
      "not running",
      expect.stringMatching(/^lag 3 events, \d+ s$/),
      "no dead letters",
    ]);
    expect(await cells(ledgerCard.locator(`table.types tr[data-event-type="credit.locked"]`))).toEqual([
      "credit.locked",
      "3",
      expect.stringMatching(/^\d+ s$/),
      "stopped",
    ]);
    expect(await text(ledgerCard.locator("p.empty"))).toBe("No live replica: nothing runs this consumer right now.");
    expect(await text(ledgerCard.locator("figcaption"))).toBe("Delivered: 4 in the last hour");

    const published = await page
      .locator("table.published tbody tr")
      .evaluateAll((rows) => rows.map((r) => [r.cells[0].innerText, r.cells[1].innerText]));
    expect(published).toEqual([
      ["credit.locked", "7"],
      ["credit.released", "1"],
      ["credit.reserved", "6"],
    ]);
    await page.setViewportSize({ width: 1280, height: 800 });
    await shot(page, "overview");
    expect(page.errors).toEqual([]);
    await page.context().close();
  });

  it("pausing a type stops its delivery; resuming delivers exactly the events published meanwhile", async () => {
    const page = await newPage("operator", null);
    await open(page, `#/consumers/${COACHING}`);
    expect(await page.locator("#operator").inputValue()).toBe("console");
    await page.locator("#operator").fill(OPERATOR);
    await page.locator("#operator").press("Tab");
    expect(await page.evaluate(() => localStorage.getItem("sguild-console.operator"))).toBe(OPERATOR);

    await page.getByRole("button", { name: "Pause credit.reserved" }).click();
    expect(await outcome(page, `Paused credit.reserved for ${COACHING}`)).toEqual({ kind: "outcome ok", lines: [] });
    const row = page.locator(`table.types tr[data-event-type="credit.reserved"]`);
    expect((await cells(row))[3]).toMatch(new RegExp(`^paused by ${OPERATOR}\\nsince \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`));
    expect(await page.getByRole("button", { name: "Resume credit.reserved" }).count()).toBe(1);
    const { rows: cursor } = await pool.query(
      "SELECT paused_by FROM dispatcher_cursor WHERE consumer = $1 AND event_type = 'credit.reserved'",
      [COACHING],
    );
    expect(cursor).toEqual([{ paused_by: OPERATOR }]);

    // Published while paused: nothing arrives (NOTIFY and ten poll intervals go by), and the page shows the backlog.
    const before = received.length;
    const held = await producer.publishMany([reserved(), reserved(), reserved()]);
    const control = await producer.publish(locked()); // another type of the same consumer keeps flowing
    await until(() => received.includes(control.event_id), "the unpaused type's delivery");
    await sleep(1_000);
    expect(received.slice(before)).toEqual([control.event_id]);
    await page.reload();
    await drawn(page);
    expect(await page.locator("#operator").inputValue()).toBe(OPERATOR); // kept in localStorage
    const { rows: position } = await pool.query(
      "SELECT last_position::int AS n FROM dispatcher_cursor WHERE consumer = $1 AND event_type = 'credit.reserved'",
      [COACHING],
    );
    expect((await cells(row)).slice(0, 3)).toEqual(["credit.reserved", String(position[0].n), expect.stringMatching(/^3 events\n\d+ s$/)]);
    expect(await text(page.locator(".page-head .badge").first())).toBe("1 of 2 types paused");
    await shot(page, "consumer");

    await page.getByRole("button", { name: "Resume credit.reserved" }).click();
    expect(await outcome(page, `Resumed credit.reserved for ${COACHING}`)).toEqual({ kind: "outcome ok", lines: [] });
    await until(() => received.length === before + 4, "the held events after resume");
    expect(received.slice(before)).toEqual([control.event_id, ...held.map((e) => e.event_id)]);
    await page.reload();
    await drawn(page);
    expect((await cells(row)).slice(2, 4)).toEqual(["0 events\n0 s", "delivering"]);

    // The whole consumer: both types at once.
    await page.getByRole("button", { name: "Pause all" }).click();
    expect((await outcome(page, `Paused credit.locked, credit.reserved for ${COACHING}`)).kind).toBe("outcome ok");
    expect(await text(page.locator(".page-head .badge").first())).toBe("paused");
    await page.getByRole("button", { name: "Resume all" }).click();
    expect((await outcome(page, `Resumed credit.locked, credit.reserved for ${COACHING}`)).kind).toBe("outcome ok");
    expect(await text(page.locator(".page-head .badge").first())).toBe("running · 1 replica");
    expect(page.errors).toEqual([]);
    await page.context().close();
  });

  it("a dead-letter group is opened, a letter's details read, and the group replayed: resolved", async () => {
    const page = await newPage("operator");
    await open(page, "#/");
    await page.getByRole("link", { name: "Dead letters", exact: true }).click();
    await drawn(page);
    expect(await text(page.locator(".page-head .muted"))).toBe("2 active letters in 1 group");
    const group = page.locator("table.groups tbody tr");
    expect(await group.count()).toBe(1);
    const [consumer, failure, types, letters] = await cells(group);
    expect([consumer, types, letters]).toEqual([COACHING, "credit.locked", "2"]);
    const { rows: stored } = await pool.query(
      "SELECT id, event_id, error_message FROM dispatcher_dead_letter ORDER BY created_at DESC, id DESC",
    );
    const { rows: newest } = await pool.query("SELECT error_message FROM dispatcher_dead_letter ORDER BY last_failed_at DESC LIMIT 1");
    expect(failure).toBe(`RangeError\n${newest[0].error_message}`);
    expect(stored.map((r) => r.error_message).sort()).toEqual(
      seeded.failed
        .filter((_, i) => i % 2 === 0)
        .map((e) => `slot for ${e.payload.lesson_id} is gone`)
        .sort(),
    );
    await shot(page, "dead-letters");

    await group.getByRole("link", { name: "Open" }).click();
    await drawn(page);
    expect(await text(page.locator("main h1"))).toBe(`RangeError in ${COACHING}`);
    expect(await text(page.locator(".page-head .badge"))).toBe("2 active letters");
    const rows = page.locator("table.letters tbody tr");
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.letter))).toEqual(stored.map((r) => r.id));
    for (const [i, r] of stored.entries()) {
      expect((await cells(rows.nth(i))).slice(0, 5)).toEqual([
        r.id,
        `credit.locked\n${r.event_id}`,
        "2",
        expect.stringMatching(/^\d+ s ago$/),
        "active",
      ]);
    }
    await shot(page, "dead-letter-group");

    // One letter's details: the error, its stack, the attempts and the envelope.
    await rows.nth(1).getByRole("link", { name: stored[1].id }).click();
    await drawn(page);
    expect(await text(page.locator("main h1"))).toBe(`Dead letter ${stored[1].id}`);
    const facts = await page
      .locator("dl.facts")
      .evaluate((d) => Object.fromEntries([...d.querySelectorAll("dt")].map((dt) => [dt.innerText, dt.nextElementSibling.innerText])));
    expect(facts.Consumer).toBe(COACHING);
    expect(facts.Event).toBe(`credit.locked ${stored[1].event_id}`);
    expect(facts.Error).toBe(`RangeError: ${stored[1].error_message}`);
    expect(facts.Attempts).toBe("2");
    expect((await text(page.locator("pre.stack"))).startsWith(`RangeError: ${stored[1].error_message}\n    at `)).toBe(true);
    expect(JSON.parse(await text(panel(page, "Envelope").locator("pre")))).toMatchObject({
      event_id: stored[1].event_id,
      event_type: "credit.locked",
    });
    await shot(page, "dead-letter");
    await page.goBack();
    await drawn(page);

    // The bug is fixed: replay the group.
    failingLessons.clear();
    await page.getByRole("button", { name: "Replay group…" }).click();
    const dialog = page.getByRole("dialog", { name: "Replay this group" });
    expect(await text(dialog.locator("p").first())).toBe(`Replays 2 active dead letters of ${COACHING} that failed with:`);
    await shot(page, "replay-dialog");
    await dialog.getByRole("button", { name: "Replay 2 letters" }).click();
    const replayed = await outcome(page, "Replayed the group: 2 replayed");
    expect(replayed.lines).toEqual([...stored].reverse().map((r) => `${r.id} (credit.locked): replayed and resolved`));
    expect(await text(page.locator(".page-head .badge"))).toBe("all resolved");
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.cells[4].innerText))).toEqual([
      `resolved by ${OPERATOR}`,
      `resolved by ${OPERATOR}`,
    ]);
    for (const r of stored) expect(received).toContain(r.event_id);
    await shot(page, "dead-letter-replayed");
    await page.getByRole("link", { name: "Dead letters", exact: true }).first().click();
    await drawn(page);
    expect(await text(page.locator("p.empty"))).toBe("No active dead letters.");
    expect(page.errors).toEqual([]);
    await page.context().close();
  });

  it("an event is found by search, opened, and its flow shown in order across types", async () => {
    const page = await newPage("operator");
    await open(page, "#/events");
    const [first, second, third] = seeded.flow;
    await page.getByLabel("Correlation id").fill(seeded.correlationId);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForFunction(() => location.hash.startsWith("#/events?correlationId="));
    await drawn(page);
    expect(await text(page.locator(".page-head .muted"))).toBe("3 matches, newest first");
    const found = await page
      .locator("table.events tbody tr")
      .evaluateAll((trs) => trs.map((tr) => [tr.cells[2].innerText, tr.cells[5].innerText]));
    expect(found).toEqual([third, second, first].map((e) => [e.event_type, e.event_id]));
    await shot(page, "events");

    await page.getByLabel("Correlation id").fill("");
    await page.getByLabel("Event id").fill(second.event_id);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForFunction((eventId) => location.hash === `#/events?eventId=${eventId}`, second.event_id);
    await drawn(page);
    expect(await page.locator("table.events tbody tr").count()).toBe(1);
    await page.getByRole("link", { name: second.event_id }).click();
    await drawn(page);
    expect(await text(page.locator("main h1"))).toBe("credit.locked");
    expect(await page.locator("ul.delivered li").allInnerTexts()).toEqual([COACHING]);
    expect(await text(panel(page, "Dead-lettered by").locator("p"))).toBe("No consumer dead-lettered it.");
    expect(JSON.parse(await text(panel(page, "Payload").locator("pre")))).toEqual(second.payload);
    await shot(page, "event");

    await page.getByRole("link", { name: seeded.correlationId }).click();
    await drawn(page);
    expect(await text(page.locator("main h1"))).toBe("Flow");
    expect(await text(page.locator("main p.muted").last())).toBe("3 events of 3 types, in order");
    const steps = await page.locator("ol.timeline li").evaluateAll((lis) => lis.map((li) => li.dataset.event));
    expect(steps).toEqual([first, second, third].map((e) => e.event_id));
    expect(await page.locator("ol.timeline li strong").allInnerTexts()).toEqual(["credit.reserved", "credit.locked", "credit.released"]);
    await shot(page, "flow");

    // Data is text: the hostile note is shown as written, and nothing of it ran or became an element.
    await page.locator("ol.timeline li").last().locator("summary").click();
    expect(JSON.parse(await text(page.locator("ol.timeline li").last().locator("pre"))).reason_note).toBe(HOSTILE);
    expect(await page.evaluate(() => [document.querySelectorAll("main img, main script").length, window.__pwned])).toEqual([0, undefined]);

    // A dead-lettered (since replayed) event names the letter.
    await open(page, `#/events/${seeded.failed[0].event_id}`);
    expect(await page.locator("ul.dead-lettered li").allInnerTexts()).toEqual([
      expect.stringMatching(new RegExp(`^${COACHING} dlq_\\S+ resolved \\d{4}-`)),
    ]);
    expect(page.errors).toEqual([]);
    await page.context().close();
  });

  it("the tail shows events as they are published, filtered by type", async () => {
    const page = await newPage("operator");
    await open(page, "#/tail");
    await page.waitForTimeout(300);
    const published = await producer.publishMany([locked(), reserved(), locked()]);
    await page.waitForFunction(() => document.querySelectorAll("table.tail tbody tr").length === 3, null, { timeout: 10_000 });
    const shown = await page.locator("table.tail tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.event));
    expect(shown).toEqual([...published].reverse().map((e) => e.event_id));
    await shot(page, "tail");

    await page.getByLabel("Event type").fill("credit.reserved");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForFunction(() => location.hash === "#/tail?eventType=credit.reserved");
    await drawn(page);
    await page.waitForTimeout(300);
    const more = await producer.publishMany([locked(), reserved()]);
    await page.waitForFunction(() => document.querySelectorAll("table.tail tbody tr").length === 1, null, { timeout: 10_000 });
    await page.waitForTimeout(1_200);
    expect(await page.locator("table.tail tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.event))).toEqual([more[1].event_id]);
    expect(page.errors).toEqual([]);
    await page.context().close();
  });
  it(
    "a rewind is previewed, then applied without re-applying anything; " +
      "a drop needs the name typed and is refused while the consumer runs",
    async () => {
      const page = await newPage("operator");
      await open(page, `#/consumers/${COACHING}`);
      const [flowReservation] = seeded.flow;
      const { rows: before } = await pool.query(
        `SELECT c.last_position::int AS "from", e.position::int - 1 AS "to",
         (SELECT count(*)::int FROM dispatcher_event x
           WHERE x.event_type = 'credit.reserved' AND x.position >= e.position AND x.position <= c.last_position) AS events
       FROM dispatcher_cursor c, dispatcher_event e WHERE c.consumer = $1 AND c.event_type = 'credit.reserved' AND e.event_id = $2`,
        [COACHING, flowReservation.event_id],
      );
      const { from, to, events } = before[0];
      const line = `credit.reserved: position ${from} → ${to}, ${events} events again, 0 will reach the handlers`;

      await page.getByRole("button", { name: "Rewind credit.reserved" }).click();
      const dialog = page.getByRole("dialog", { name: `Rewind ${COACHING}` });
      expect(await dialog.getByRole("button", { name: "Rewind", exact: true }).isDisabled()).toBe(true);
      await dialog.getByLabel("Back to").fill(flowReservation.event_id);
      expect(await dialog.getByLabel("Event type").inputValue()).toBe("credit.reserved");
      await dialog.getByRole("button", { name: "Preview" }).click();
      await dialog.locator(".preview li").waitFor();
      expect(await dialog.locator(".preview li").allInnerTexts()).toEqual([line]);
      const { rows: unchanged } = await pool.query(
        "SELECT last_position::int AS n FROM dispatcher_cursor WHERE consumer = $1 AND event_type = 'credit.reserved'",
        [COACHING],
      );
      expect(unchanged[0].n).toBe(from);
      await shot(page, "rewind-dialog");
      const receivedBefore = received.length;
      await dialog.getByRole("button", { name: "Rewind", exact: true }).click();
      expect(await outcome(page, `Rewound ${COACHING}`)).toEqual({ kind: "outcome ok", lines: [line] });
      // Every rewound event was applied already: skipped as duplicates, the cursor back where it was.
      await until(
        async () =>
          (
            await pool.query(
              "SELECT last_position::int AS n FROM dispatcher_cursor WHERE consumer = $1 AND event_type = 'credit.reserved'",
              [COACHING],
            )
          ).rows[0].n === from,
        "the consumer to pass the rewound events",
      );
      await sleep(300);
      expect(received.length).toBe(receivedBefore);

      // Drop: refused while the consumer runs; a stopped one is dropped once its name is typed.
      await page.getByRole("button", { name: "Drop…" }).click();
      let drop = page.getByRole("dialog", { name: `Drop ${COACHING}` });
      await drop.getByLabel(`Type ${COACHING} to confirm`).fill(COACHING);
      await drop.getByRole("button", { name: "Drop consumer" }).click();
      expect(
        (
          await outcome(
            page,
            `Dropping ${COACHING} refused: 409 INVALID_STATE: ` +
              `consumer "${COACHING}" is running (1 live replica): stop it before dropping it`,
          )
        ).kind,
      ).toBe("outcome error");
      expect(await page.evaluate(() => location.hash)).toBe(`#/consumers/${COACHING}`);
      expect((await pool.query("SELECT count(*)::int AS n FROM dispatcher_cursor WHERE consumer = $1", [COACHING])).rows[0].n).toBe(2);

      await open(page, `#/consumers/${LEDGER}`);
      await page.getByRole("button", { name: "Drop…" }).click();
      drop = page.getByRole("dialog", { name: `Drop ${LEDGER}` });
      const confirm = drop.getByRole("button", { name: "Drop consumer" });
      await drop.getByLabel(`Type ${LEDGER} to confirm`).fill("delivery-ledge");
      expect(await confirm.isDisabled()).toBe(true);
      await drop.getByLabel(`Type ${LEDGER} to confirm`).fill(LEDGER);
      expect(await confirm.isDisabled()).toBe(false);
      await shot(page, "drop-dialog");
      await confirm.click();
      expect(await outcome(page, `Dropped ${LEDGER}: 1 cursor, 4 delivery records, 0 dead letters (0 active)`)).toEqual({
        kind: "outcome ok",
        lines: [],
      });
      expect(await page.evaluate(() => location.hash)).toBe("#/");
      expect(await page.locator("article.consumer h3").allInnerTexts()).toEqual([COACHING]);
      expect((await pool.query("SELECT count(*)::int AS n FROM dispatcher_cursor WHERE consumer = $1", [LEDGER])).rows[0].n).toBe(0);
      expect(page.errors).toEqual([]);
      await page.context().close();
    },
  );
});
