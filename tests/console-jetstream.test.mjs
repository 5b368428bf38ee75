// The console's JetStream panel in Chromium, over a real nats-server: Revenue's relay publishes to the
// stream, Coaching's inbox stores from it and is then stopped while two more events arrive; the panel
// shows the stream and the inbox's consumers with exactly that backlog. A console whose NATS is
// unreachable shows the reason in the panel and the rest of its overview. Screenshot:
// docs/images/console-jetstream.png.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConsole, createDispatcher, silentLogger, toNodeHandler } from "@sguild/dispatcher";
import { createJetStreamInbox, createJetStreamRelay, jetStreamStatus } from "@sguild/dispatcher/jetstream";
import { createTestDatabase, startTestPostgres } from "@sguild/prisma-fragment/testing";
import { freePort, id, natsServer, sleep, until } from "./browser-support.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const IMAGES = fileURLToPath(new URL("../docs/images/", import.meta.url));
const TENANT = "tnt_sguild";
const locked = () => ({
  event_type: "credit.locked",
  payload: {
    credit_reservation_id: id("crr"),
    lesson_id: id("les"),
    person_id: id("per"),
    locked_credits: 2,
    locked_at: new Date().toISOString(),
  },
});

let server, revenueDb, coachingDb, pool, producer, coaching, relay, inbox, nats, natsDir, browser;
const jetstream = { stream: { name: "SGUILD_CONSOLE" } };
const consoles = [];

async function serve(handler) {
  const s = http.createServer(toNodeHandler(handler));
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  consoles.push(s);
  return `http://127.0.0.1:${s.address().port}/dispatcher/console/`;
}

async function overview(url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${url}#/`);
  await page.waitForFunction(() => document.querySelector("main#app")?.dataset.drawn === "#/");
  return { page, errors };
}

beforeAll(async () => {
  // Never skipped: without a tool the suite fails saying what to install.
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} for the console's browser tests: apt-get install chromium`);
  const binary = natsServer();
  natsDir = mkdtempSync(join(tmpdir(), "sguild-console-nats-"));
  const port = await freePort();
  nats = spawn(binary, ["-js", "-sd", natsDir, "-p", String(port), "-a", "127.0.0.1"], { stdio: "ignore" });
  jetstream.servers = [`nats://127.0.0.1:${port}`];
  server = await startTestPostgres();
  [revenueDb, coachingDb] = await Promise.all([
    createTestDatabase({ adminUrl: server.adminUrl }),
    createTestDatabase({ adminUrl: server.adminUrl }),
  ]);
  pool = new pg.Pool({ connectionString: revenueDb.url });
  producer = createDispatcher({ producer: "revenue", tenantId: TENANT, pool });
  coaching = createDispatcher({ producer: "coaching", tenantId: TENANT, databaseUrl: coachingDb.url, logger: silentLogger });
  coaching.subscribe("credit.locked", async () => undefined);
  await coaching.start({ consumer: "coaching-availability", pollIntervalMs: 100 });
  relay = createJetStreamRelay({
    source: { producer: "revenue", tenantId: TENANT, databaseUrl: revenueDb.url, logger: silentLogger },
    jetstream,
  });
  for (let i = 0; ; i += 1) {
    try {
      await relay.start();
      break;
    } catch (error) {
      if (i > 100) throw error; // nats-server still starting
      await sleep(100);
    }
  }
  inbox = createJetStreamInbox({
    target: { producer: "coaching", tenantId: TENANT, databaseUrl: coachingDb.url, logger: silentLogger },
    jetstream,
  });
  await inbox.start();
  browser = await chromium.launch({ executablePath: CHROMIUM });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  for (const s of consoles) await new Promise((resolve) => s.close(resolve));
  await inbox?.close();
  await relay?.close();
  await coaching?.close();
  await producer?.close();
  await pool?.end();
  await revenueDb?.drop();
  await coachingDb?.drop();
  await server?.stop();
  if (nats && nats.exitCode === null) {
    nats.kill("SIGTERM");
    await once(nats, "exit");
  }
  if (natsDir) rmSync(natsDir, { recursive: true, force: true });
});

describe("the console's JetStream panel in Chromium", () => {
  it("shows the stream and the inbox's consumers; the stopped inbox's backlog is the events published since", async () => {
    await producer.publishMany(Array.from({ length: 6 }, locked));
    await until(() => inbox.counts.stored === 6, "the inbox to store six events");
    await until(async () => (await inbox.pending()).every((s) => s.numAckPending === 0), "the inbox's acknowledgements");
    await inbox.stop();
    await producer.publishMany(Array.from({ length: 2 }, locked));
    await until(async () => (await jetStreamStatus(jetstream)).stream.messages === 8, "the relay to publish two more");

    const url = await serve(createConsole({ authorize: () => true, dispatcher: coaching, jetstream }));
    const { page, errors } = await overview(url);
    const section = page.locator("section.panel").filter({ has: page.getByRole("heading", { name: "JetStream stream SGUILD_CONSOLE" }) });
    expect((await section.locator("p.jetstream-stream").innerText()).trim()).toBe("8 messages (sequence 1 to 8), 1 replica, leader none");
    const row = section.locator('tr[data-jetstream-consumer="sguild-coaching_credit_locked"]');
    expect((await row.locator("td").allInnerTexts()).map((t) => t.trim())).toEqual([
      "sguild-coaching_credit_locked",
      `sguild.${TENANT}.revenue.credit.locked`,
      "2",
      "0",
      "0",
      "6",
      "6",
      "",
    ]);
    // Every other durable of the inbox (one per type Coaching consumes) has nothing pending.
    const pendings = await section.locator("tbody tr td:nth-child(3)").allInnerTexts();
    expect(pendings.map((t) => t.trim()).sort()).toEqual([...Array(inbox.eventTypes.length - 1).fill("0"), "2"].sort());
    await page.screenshot({ path: `${IMAGES}console-jetstream.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a console whose NATS is unreachable shows the reason in the panel, and its consumers as usual", async () => {
    const port = await freePort();
    const url = await serve(
      createConsole({ authorize: () => true, dispatcher: coaching, jetstream: { ...jetstream, servers: [`nats://127.0.0.1:${port}`] } }),
    );
    const { page, errors } = await overview(url);
    const section = page.locator("section.panel").filter({ has: page.getByRole("heading", { name: "JetStream", exact: true }) });
    expect((await section.locator("p.jetstream-error").innerText()).trim()).toMatch(
      new RegExp(`^JETSTREAM_FAILED: cannot connect to NATS at nats://127\\.0\\.0\\.1:${port}`),
    );
    expect(await page.locator("article.consumer h3").allInnerTexts()).toEqual(["coaching-availability"]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
