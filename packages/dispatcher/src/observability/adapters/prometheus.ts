import type * as PromClient from "prom-client";
import type { Attributes, ObservabilityHooks } from "../hooks.js";

export interface PrometheusOptions {
  /** Default: prom-client's global register. */
  registry?: PromClient.Registry;
  /** Histogram buckets in ms (seconds for *.seconds). */
  buckets?: number[];
}

const DEFAULT_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

/**
 * Metric hooks over prom-client (pass the module): names become Prometheus names
 * (`dispatcher.publish.count` -> `dispatcher_publish_count`), attributes become labels.
 */
export function prometheusMetrics(prom: typeof PromClient, options: PrometheusOptions = {}): ObservabilityHooks {
  const registers = options.registry ? [options.registry] : undefined;
  const made = new Map<string, PromClient.Counter | PromClient.Histogram | PromClient.Gauge>();
  const metricName = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_");
  function get<T>(kind: "counter" | "histogram" | "gauge", name: string, attributes: Attributes): T {
    let metric = made.get(name);
    if (!metric) {
      const config = {
        name: metricName(name),
        help: `Sguild dispatcher ${name}`,
        labelNames: Object.keys(attributes).sort(),
        ...(registers ? { registers } : {}),
      };
      metric =
        kind === "counter"
          ? new prom.Counter(config)
          : kind === "gauge"
            ? new prom.Gauge(config)
            : new prom.Histogram({ ...config, buckets: options.buckets ?? DEFAULT_BUCKETS });
      made.set(name, metric);
    }
    return metric as T;
  }
  const labels = (attributes: Attributes) => Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)]));
  return {
    counter: (name, value, attributes) => get<PromClient.Counter>("counter", name, attributes).inc(labels(attributes), value),
    histogram: (name, value, attributes) => get<PromClient.Histogram>("histogram", name, attributes).observe(labels(attributes), value),
    gauge: (name, value, attributes) => get<PromClient.Gauge>("gauge", name, attributes).set(labels(attributes), value),
  };
}
