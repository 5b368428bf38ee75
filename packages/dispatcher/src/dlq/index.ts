export {
  DeadLetterService,
  REPLAY_NOTES,
  type ListDeadLettersOptions,
  type DeadLetterGroup,
  type ReplayResult,
} from "./dead-letter-service.js";
export { type DeadLetter, assertDeadLetterId } from "./dead-letter.js";
export { waitForReplays, type PerformedReplay, type WaitForReplaysOptions } from "./replay-wait.js";
