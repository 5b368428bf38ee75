export type Attributes = Record<string, string | number | boolean>;

/** Vendor-neutral metric hooks; adapters for OpenTelemetry and prom-client plug in here. */
export interface ObservabilityHooks {
  counter?(name: string, value: number, attributes: Attributes): void;
  histogram?(name: string, value: number, attributes: Attributes): void;
}

let hooks: ObservabilityHooks = {};

/** Installs the process-wide metric hooks (replacing earlier ones). Pass `{}` to remove them. */
export function configureDispatcherObservability(next: ObservabilityHooks): void {
  hooks = next;
}

export const metrics = {
  count(name: string, value: number, attributes: Attributes): void {
    try {
      hooks.counter?.(name, value, attributes);
    } catch {
      // a broken metrics adapter must never break delivery
    }
  },
  observe(name: string, value: number, attributes: Attributes): void {
    try {
      hooks.histogram?.(name, value, attributes);
    } catch {
      // as above
    }
  },
};
