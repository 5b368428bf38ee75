import type { Counter, Gauge, Histogram, Meter } from "@opentelemetry/api";
import type * as OpenTelemetryApi from "@opentelemetry/api";
import type { Attributes, ObservabilityHooks, TracingHooks } from "../hooks.js";

/** Metric hooks over an OpenTelemetry Meter: `configureDispatcherObservability(openTelemetryMetrics(meter))`. */
export function openTelemetryMetrics(meter: Meter): ObservabilityHooks {
  const counters = new Map<string, Counter>();
  const histograms = new Map<string, Histogram>();
  const gauges = new Map<string, Gauge>();
  const unit = (name: string) => (name.endsWith("_ms") ? "ms" : name.endsWith(".seconds") ? "s" : undefined);
  return {
    counter(name, value, attributes) {
      let c = counters.get(name);
      if (!c) counters.set(name, (c = meter.createCounter(name)));
      c.add(value, attributes);
    },
    histogram(name, value, attributes) {
      let h = histograms.get(name);
      const u = unit(name);
      if (!h) histograms.set(name, (h = meter.createHistogram(name, u ? { unit: u } : {})));
      h.record(value, attributes);
    },
    gauge(name, value, attributes) {
      let g = gauges.get(name);
      if (!g) gauges.set(name, (g = meter.createGauge(name)));
      g.record(value, attributes);
    },
  };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Tracing over the OpenTelemetry API (pass the `@opentelemetry/api` module): a publish inside an
 * active span stores its W3C trace context with the event; each handler runs in a CONSUMER span
 * linked to it.
 */
export function openTelemetryTracing(api: typeof OpenTelemetryApi, tracerName = "@sguild/dispatcher"): TracingHooks {
  return {
    currentContext() {
      const span = api.trace.getSpanContext(api.context.active());
      if (!span || !api.trace.isSpanContextValid(span)) return undefined;
      const traceparent = `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
      const context: Record<string, string> = { traceparent };
      const tracestate = span.traceState?.serialize();
      if (tracestate) context["tracestate"] = tracestate;
      return context;
    },
    inConsumerSpan(name, stored, attributes: Attributes, fn) {
      const match = stored?.["traceparent"] ? TRACEPARENT.exec(stored["traceparent"]) : null;
      const links = match
        ? [{ context: { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true } }]
        : [];
      return api.trace.getTracer(tracerName).startActiveSpan(name, { kind: api.SpanKind.CONSUMER, links, attributes }, async (span) => {
        try {
          return await fn();
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: (error as Error)?.message });
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}
