export type Attributes = Record<string, string | number | boolean>;

/** Runs handlers in consumer spans and reads the publisher's trace context; see openTelemetryTracing. */
export interface TracingHooks {
  /** The active trace context (W3C `traceparent`, `tracestate`) to store with an event published now, if any. */
  currentContext(): Record<string, string> | undefined;
  /** Runs `fn` in a consumer span linked to the context stored with the event. */
  inConsumerSpan<T>(
    name: string,
    stored: Record<string, string> | null | undefined,
    attributes: Attributes,
    fn: () => Promise<T>,
  ): Promise<T>;
}

/** Vendor-neutral hooks; the OpenTelemetry and prom-client adapters build these. */
export interface ObservabilityHooks {
  counter?(name: string, value: number, attributes: Attributes): void;
  histogram?(name: string, value: number, attributes: Attributes): void;
  gauge?(name: string, value: number, attributes: Attributes): void;
  tracing?: TracingHooks;
}

let hooks: ObservabilityHooks = {};

/** Installs the process-wide hooks (replacing earlier ones). Pass `{}` to remove them. */
export function configureDispatcherObservability(next: ObservabilityHooks): void {
  hooks = next ?? {};
}

// A broken adapter must never break publishing or delivery: hook errors are swallowed.
const safely = (fn: () => void) => {
  try {
    fn();
  } catch {
    // ignored on purpose
  }
};

export const metrics = {
  count: (name: string, value: number, attributes: Attributes) => safely(() => hooks.counter?.(name, value, attributes)),
  observe: (name: string, value: number, attributes: Attributes) => safely(() => hooks.histogram?.(name, value, attributes)),
  gauge: (name: string, value: number, attributes: Attributes) => safely(() => hooks.gauge?.(name, value, attributes)),
};

export const tracing = {
  currentContext(): Record<string, string> | undefined {
    try {
      return hooks.tracing?.currentContext();
    } catch {
      return undefined;
    }
  },
  inConsumerSpan<T>(
    name: string,
    stored: Record<string, string> | null | undefined,
    attributes: Attributes,
    fn: () => Promise<T>,
  ): Promise<T> {
    return hooks.tracing ? hooks.tracing.inConsumerSpan(name, stored, attributes, fn) : fn();
  },
};
