import net from "node:net";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher, uncataloged, type Dispatcher } from "../src/index.js";
import { id, lockedPayload, testDb, until, type TestDb, reservedPayload } from "./helpers.js";

let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

const listenPids = async (consumer: string) =>
  (await db.pool.query("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [`sguild-dispatcher-listen:${consumer}`])).rows.map(
    (r) => r.pid as number,
  );

describe("LISTEN/NOTIFY wake-up", () => {
  it("wakes at once, survives pg_terminate_backend on its connection and loses nothing meanwhile", async () => {
    const seen: string[] = [];
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    running.push(c);
    c.subscribe("credit.locked", (event) => void seen.push(event.event_id));
    // A one-minute poll: anything arriving within seconds came through NOTIFY.
    await c.start({ consumer: "listen_test", pollIntervalMs: 60_000, listenReconnectDelaysMs: [100, 200], listenHeartbeatMs: 500 });
    const listener = c.consumerLoop!.listener!;
    await until(() => listener.connects === 1, 5000, "LISTEN to connect");
    await new Promise((r) => setTimeout(r, 100));

    const first = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => seen.includes(first.event_id), 5000, "NOTIFY wake-up");

    const [pid] = await listenPids("listen_test");
    await db.pool.query("SELECT pg_terminate_backend($1)", [pid]);
    const duringOutage = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => listener.connects === 2, 5000, "LISTEN to reconnect");
    await until(() => seen.includes(duringOutage.event_id), 5000, "the event published while disconnected");
    expect(await listenPids("listen_test")).not.toContain(pid);

    const after = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => seen.includes(after.event_id), 5000, "wake-up after reconnect");
    expect(seen).toEqual([first.event_id, duringOutage.event_id, after.event_id]);
  });

  it("a half-open LISTEN connection (no error, no data) is caught by the heartbeat and replaced", async () => {
    // A TCP proxy that can go silent without closing anything: the LISTEN connection goes through it.
    const target = new URL(db.url);
    const frozen = new Set<net.Socket>();
    const sockets: net.Socket[] = [];
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.push(client, upstream);
      client.on("data", (chunk) => !frozen.has(client) && upstream.write(chunk));
      upstream.on("data", (chunk) => !frozen.has(client) && client.write(chunk));
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxied = new URL(db.url);
    proxied.port = String((proxy.address() as net.AddressInfo).port);
    const seen: string[] = [];
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: proxied.toString() });
    running.push(c);
    c.subscribe("credit.locked", (event) => void seen.push(event.event_id));
    await c.start({ consumer: "half_open", pollIntervalMs: 60_000, listenReconnectDelaysMs: [50], listenHeartbeatMs: 300 });
    const listener = c.consumerLoop!.listener!;
    await until(() => listener.connects === 1, 5000, "LISTEN to connect");
    for (const socket of sockets) frozen.add(socket); // the connection now never answers, and never errors
    await until(() => listener.connects === 2, 10_000, "the heartbeat to catch it and LISTEN to reconnect");
    const e = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => seen.includes(e.event_id), 5000, "wake-up on the new connection");
    await c.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => proxy.close(r));
  });

  it("ignores notifications for types it does not consume, and is woken by the type it does", async () => {
    let wakes = 0;
    const seen: string[] = [];
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    running.push(c);
    c.subscribe("credit.reserved", (event) => void seen.push(event.event_id));
    await c.start({ consumer: "filter_test", pollIntervalMs: 60_000 });
    const loop = c.consumerLoop!;
    await until(() => loop.listener!.connects === 1);
    await new Promise((r) => setTimeout(r, 100)); // the wake-up of the connect itself has run
    const original = (loop as unknown as { wakeup: { wake(): void } }).wakeup;
    const wake = original.wake.bind(original);
    original.wake = () => {
      wakes += 1;
      wake();
    };
    await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    const wanted = await producer.publish({
      event_type: "credit.reserved",
      payload: reservedPayload(),
    });
    // Positive control: with a one-minute poll, only its NOTIFY can bring the subscribed type this fast.
    // Notifications arrive in commit order, so the credit.locked one reached the connection first.
    await until(() => seen.includes(wanted.event_id), 5000, "the subscribed type's notification");
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([wanted.event_id]);
    expect(wakes).toBe(1);
  });

  it(
    "a consumer of 25 types woken for one delivers that one: " + "a checkout for the sequencer and one for the delivery per event",
    async () => {
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      let checkouts = 0;
      pool.on("acquire", () => void (checkouts += 1));
      const seen: string[] = [];
      const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool, databaseUrl: db.url });
      running.push(c);
      c.subscribe("credit.locked", (event) => void seen.push(event.event_id));
      const others = c.registry.eventTypes.filter((t) => t !== "credit.locked").slice(0, 24);
      for (const type of others) c.subscribe(uncataloged(type), () => undefined);
      await c.start({ consumer: "fan_in_test", startFrom: "now", pollIntervalMs: 60_000, lagReportIntervalMs: 3_600_000 });
      await until(() => c.consumerLoop!.listener!.connects === 1);
      await new Promise((r) => setTimeout(r, 300)); // the connect's own wake-up (every type due) has run
      const published: string[] = [];
      checkouts = 0;
      for (let i = 0; i < 10; i += 1) {
        published.push((await producer.publish({ event_type: "credit.locked", payload: lockedPayload() })).event_id);
        await until(() => seen.includes(published[i]!), 5000, "the notified type's delivery");
      }
      const used = checkouts;
      await c.close();
      await pool.end();
      expect(seen).toEqual(published);
      // 10 x (sequencer + delivery), plus at most two requested-replay checks (once a second): never a transaction per subscribed type.
      expect(used).toBeGreaterThanOrEqual(20);
      expect(used).toBeLessThanOrEqual(22);
    },
  );

  it("listen: false polls only and opens no LISTEN connection; stop() closes LISTEN", async () => {
    const seen: string[] = [];
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    running.push(c);
    c.subscribe("credit.locked", (event) => void seen.push(event.event_id));
    await c.start({ consumer: "poll_only", pollIntervalMs: 50, listen: false });
    const e = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => seen.includes(e.event_id));
    expect(await listenPids("poll_only")).toEqual([]);

    const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    d.subscribe("credit.locked", () => undefined);
    await d.start({ consumer: "closing" });
    await until(async () => (await listenPids("closing")).length === 1);
    await d.stop();
    await until(async () => (await listenPids("closing")).length === 0, 5000, "LISTEN connection to close");
  });
});
