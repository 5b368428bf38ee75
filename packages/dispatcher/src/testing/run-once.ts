import type { ConsumerLoopOptions } from "../config/index.js";
import type { DrainOnceResult } from "../consumer/index.js";
import { DISPATCHER_INTERNALS, type Dispatcher } from "../dispatcher/index.js";

export type RunOnceResult = DrainOnceResult;

/**
 * Runs the dispatcher's handlers once over everything committed and due for `consumer`, in the same
 * transactions, dedup and retry bookkeeping as a running loop, and returns what ran: `delivered`
 * (in delivery order), `skipped` (already applied) and `failed` attempts (`retry`, not waited for,
 * or `dead-lettered`). No LISTEN, no polling; refused while the dispatcher's loop is running.
 * graphile-worker's `runOnce`, for tests and scripts.
 */
export function runOnce(dispatcher: Dispatcher, options: ConsumerLoopOptions): Promise<RunOnceResult> {
  return dispatcher[DISPATCHER_INTERNALS]().drainOnce(options);
}
