export { DeadLetterService, type ListDeadLettersOptions, type DeadLetterGroup, type ReplayResult } from "./dead-letter-service.js";
export { type DeadLetter, assertDeadLetterId } from "./dead-letter.js";
