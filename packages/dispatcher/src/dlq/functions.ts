import { dispatcher } from "../dispatcher/singleton.js";
import type { PruneOptions, PruneResult } from "../retention/index.js";
import type { DeadLetter } from "./dead-letter.js";
import type { DeadLetterGroup, ListDeadLettersOptions, ReplayResult } from "./dead-letter-service.js";

// The seed README's DLQ surface, on the configured `dispatcher` singleton.

/** Active (or all) dead letters of a consumer, newest first. */
export function listDeadLetters(consumer: string, options?: ListDeadLettersOptions): Promise<DeadLetter[]> {
  return dispatcher.deadLetters.list(consumer, options);
}

/** One dead letter by its dlq_<UUID> id; DeadLetterNotFoundError when there is none. */
export function getDeadLetter(deadLetterId: string): Promise<DeadLetter> {
  return dispatcher.deadLetters.get(deadLetterId);
}

/** Marks it resolved; a second resolve throws DeadLetterAlreadyResolvedError. */
export function resolveDeadLetter(deadLetterId: string, options: { resolvedBy: string; resolutionNote?: string }): Promise<DeadLetter> {
  return dispatcher.deadLetters.resolve(deadLetterId, options);
}

/** Hands the event to this process's handler again; resolves it on success. */
export function replayDeadLetter(deadLetterId: string, options: { replayedBy: string }): Promise<ReplayResult> {
  return dispatcher.deadLetters.replay(deadLetterId, options);
}

/** Replays a consumer's active dead letters, optionally of one event type. */
export function replayDeadLetters(consumer: string, options: { replayedBy: string; eventType?: string; limit?: number }): Promise<ReplayResult[]> {
  return dispatcher.deadLetters.replayAll(consumer, options);
}

/** Active dead letters grouped by failure fingerprint. */
export function listDeadLetterGroups(consumer: string): Promise<DeadLetterGroup[]> {
  return dispatcher.deadLetters.groups(consumer);
}

/** Retention on the configured dispatcher's database; see PruneOptions for the defaults. */
export function pruneDispatcherTables(options?: PruneOptions): Promise<PruneResult> {
  return dispatcher.prune(options);
}
