import type { ContractErrorCode } from "@sguild/contracts";

/**
 * Every `code` an error of the dispatcher carries, the @sguild/contracts errors it re-exports
 * included: what callers match on (`error.code === "NO_HANDLER"`), and what the HTTP problem bodies answer.
 */
export type DispatcherErrorCode =
  | ContractErrorCode
  | "CONFIG_INVALID"
  | "PRODUCER_MISMATCH"
  | "INVALID_STATE"
  | "HANDLER_TIMEOUT"
  | "INVALID_ARGUMENT"
  | "DEAD_LETTER_NOT_FOUND"
  | "DEAD_LETTER_ALREADY_RESOLVED"
  | "NO_HANDLER"
  | "RETRY_LATER"
  | "PERMANENT_FAILURE"
  | "TRANSACTION_CLOSED"
  | "COMMIT_FAILED"
  | "PAYLOAD_TOO_LARGE"
  | "EVENT_ID_CONFLICT"
  | "REPROCESS_NOT_CONFIRMED"
  | "TRANSACTION_ABORTED"
  | "UNKNOWN_CONSUMER"
  | "REPLAY_WAIT_TIMEOUT"
  | "NOT_A_CONSUMER"
  | "WAIT_FOR_EVENT_TIMEOUT"
  | "SCHEMA_OUTDATED"
  | "NATS_CLIENT_MISSING"
  | "JETSTREAM_FAILED";
