import { createFanoutRelay, type FanoutRelayOptions } from "./relay.js";

export interface DrainResult {
  /** True when every destination caught up and nothing was parked. */
  ok: boolean;
  destinations: Array<{ domain: string; lagEvents: number; deadLetters: number; retrying: number }>;
}

/**
 * fanout-drain: delivers everything pending to every destination, then stops. Not ok when an event
 * is still undelivered at the deadline or a destination refused one (parked as a dead letter).
 */
export async function drainFanout(
  options: FanoutRelayOptions,
  { timeoutMs = 60_000, onProgress }: { timeoutMs?: number; onProgress?: (destinations: DrainResult["destinations"]) => void } = {},
): Promise<DrainResult> {
  const relay = createFanoutRelay({ ...options, consumerOptions: { pollIntervalMs: 100, listen: false, ...options.consumerOptions } });
  await relay.start();
  const deadline = Date.now() + timeoutMs;
  let destinations = await relay.pending();
  onProgress?.(destinations);
  try {
    while (Date.now() < deadline && destinations.some((d) => d.lagEvents > 0 && d.retrying === 0)) {
      await new Promise((r) => setTimeout(r, 100));
      destinations = await relay.pending();
      onProgress?.(destinations);
    }
    // A destination that is retrying is down: give it until the deadline.
    while (Date.now() < deadline && destinations.some((d) => d.lagEvents > 0)) {
      await new Promise((r) => setTimeout(r, 250));
      destinations = await relay.pending();
      onProgress?.(destinations);
    }
  } finally {
    await relay.close();
  }
  return { ok: destinations.every((d) => d.lagEvents === 0 && d.deadLetters === 0), destinations };
}
