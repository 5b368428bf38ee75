import * as otel from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import * as prom from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  configureDispatcherObservability,
  createDispatcher,
  openTelemetryMetrics,
  openTelemetryTracing,
  prometheusMetrics,
  type Dispatcher,
} from "../src/index.js";
import { lockedPayload, testDb, until, type TestDb } from "./helpers.js";

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
afterEach(async () => {
  configureDispatcherObservability({});
  await Promise.all(running.splice(0).map((d) => d.close()));
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

/** Publishes 3 events, one of which fails into the dead letter, one delivered twice (dedup hit). */
async function scenario(consumerName: string): Promise<void> {
  const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  running.push(c);
  const [, , poison] = await producer.publishMany(
    Array.from({ length: 3 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
  );
  c.subscribe("credit.locked", (event) => {
    if (event.event_id === poison!.event_id) throw new Error("boom");
  });
  const [first] = await db.pool.query("SELECT event_id FROM dispatcher_event ORDER BY id LIMIT 1").then((r) => r.rows);
  await db.pool.query("INSERT INTO dispatcher_dedup (consumer, event_id) VALUES ($1, $2)", [consumerName, first.event_id]);
  await c.start({ consumer: consumerName, pollIntervalMs: 20, retryDelaysMs: [], lagReportIntervalMs: 10 });
  await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === 1);
  await new Promise((r) => setTimeout(r, 100));
}

describe("metrics", () => {
  it("reach a real OpenTelemetry meter", async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    configureDispatcherObservability(openTelemetryMetrics(provider.getMeter("test")));
    await scenario("otel");
    const { resourceMetrics } = await reader.collect();
    const metrics = new Map(
      resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m.dataPoints as DataPoint<unknown>[]]),
    );
    const sum = (name: string) => (metrics.get(name) ?? []).reduce((n, p) => n + Number(p.value), 0);
    expect(sum("dispatcher.publish.count")).toBe(3);
    expect(sum("dispatcher.consume.count")).toBe(1);
    expect(sum("dispatcher.dedup_hit.count")).toBe(1);
    expect(sum("dispatcher.dead_letter.count")).toBe(1);
    expect((metrics.get("dispatcher.handler_latency_ms")![0]!.value as Histogram).count).toBe(1);
    expect((metrics.get("dispatcher.end_to_end_latency_ms")![0]!.value as Histogram).count).toBe(1);
    expect((metrics.get("dispatcher.visibility_delay_ms")![0]!.value as Histogram).count).toBe(1);
    expect(metrics.get("dispatcher.consume.count")![0]!.attributes).toEqual({ consumer: "otel", event_type: "credit.locked" });
    const lag = metrics.get("dispatcher.consumer_lag.events")!;
    expect(lag[0]!.attributes).toEqual({ consumer: "otel", event_type: "credit.locked" });
    expect(lag[0]!.value).toBe(0);
    await provider.shutdown();
  });

  it("reach a prom-client registry", async () => {
    const registry = new prom.Registry();
    configureDispatcherObservability(prometheusMetrics(prom, { registry }));
    await scenario("prom");
    const text = await registry.metrics();
    expect(text).toContain('dispatcher_publish_count{event_type="credit.locked",producer="revenue"} 3');
    expect(text).toContain('dispatcher_consume_count{consumer="prom",event_type="credit.locked"} 1');
    expect(text).toContain('dispatcher_dedup_hit_count{consumer="prom",event_type="credit.locked"} 1');
    expect(text).toContain('dispatcher_dead_letter_count{consumer="prom",event_type="credit.locked"} 1');
    expect(text).toContain('dispatcher_handler_latency_ms_count{consumer="prom",event_type="credit.locked"} 1');
    expect(text).toContain('dispatcher_consumer_lag_events{consumer="prom",event_type="credit.locked"} 0');
  });
});

describe("tracing", () => {
  it("stores the publisher's trace context with the event and links the handler span to it", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    otel.trace.setGlobalTracerProvider(provider);
    configureDispatcherObservability({ tracing: openTelemetryTracing(otel) });
    const tracer = otel.trace.getTracer("revenue-app");
    const published = await tracer.startActiveSpan("lock reservation", async (span) => {
      const e = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
      span.end();
      return { event: e, spanContext: span.spanContext() };
    });
    const stored = (await db.pool.query("SELECT trace_context FROM dispatcher_event WHERE event_id = $1", [published.event.event_id]))
      .rows[0].trace_context;
    expect(stored).toEqual({ traceparent: `00-${published.spanContext.traceId}-${published.spanContext.spanId}-01` });

    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    running.push(c);
    let handlerSpan: otel.SpanContext | undefined;
    c.subscribe("credit.locked", () => {
      handlerSpan = otel.trace.getActiveSpan()?.spanContext();
    });
    await c.start({ consumer: "traced", pollIntervalMs: 20 });
    await until(() => handlerSpan !== undefined);
    const span = exporter.getFinishedSpans().find((s) => s.name === "credit.locked process");
    expect(span?.kind).toBe(otel.SpanKind.CONSUMER);
    expect(span?.spanContext().spanId).toBe(handlerSpan!.spanId);
    expect(span?.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
      [published.spanContext.traceId, published.spanContext.spanId],
    ]);
    expect(span?.attributes["messaging.message.id"]).toBe(published.event.event_id);
    await provider.shutdown();
    otel.trace.disable();
    otel.context.disable();
  });
});
