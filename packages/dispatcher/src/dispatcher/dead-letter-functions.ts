import type { DeadLetter, DeadLetterGroup, ListDeadLettersOptions, ReplayResult } from "../dlq/index.js";
import { dispatcher } from "./singleton.js";

// The seed README's DLQ surface, on the configured `dispatcher` singleton. It sits beside the
// singleton so that dlq/ never imports dispatcher/ (the dispatcher is built on dlq/, not the reverse).

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
export function replayDeadLetters(
  consumer: string,
  options: { replayedBy: string; eventType?: string; limit?: number },
): Promise<ReplayResult[]> {
  return dispatcher.deadLetters.replayAll(consumer, options);
}

/** Active dead letters grouped by failure fingerprint. */
export function listDeadLetterGroups(consumer: string): Promise<DeadLetterGroup[]> {
  return dispatcher.deadLetters.groups(consumer);
}
