import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { UnknownIdPrefixError } from "@sguild/contracts";
import * as api from "../src/index.js";
import {
  CommitFailedError,
  DeadLetterAlreadyResolvedError,
  DeadLetterNotFoundError,
  DispatcherConfigError,
  DispatcherError,
  DispatcherStateError,
  EnvelopeValidationError,
  EventIdConflictError,
  HandlerTimeoutError,
  InvalidArgumentError,
  JetStreamTransportError,
  NatsClientMissingError,
  NoHandlerError,
  NotAConsumerError,
  PayloadTooLargeError,
  PayloadValidationError,
  PermanentFailureError,
  ProducerMismatchError,
  RegistryError,
  ReplayWaitTimeoutError,
  ReprocessNotConfirmedError,
  RetryLaterError,
  SchemaOutdatedError,
  SchemaVersionError,
  TransactionAbortedError,
  TransactionClosedError,
  UnknownConsumerError,
  UnknownEventTypeError,
  WaitForEventTimeoutError,
  type DispatcherErrorCode,
} from "../src/index.js";

const DLQ_ID = "dlq_00000000-0000-7000-8000-000000000000";

// One instance of every error class the package exports (a new class fails "every class has a sample").
const samples: Record<string, DispatcherError> = {
  DispatcherError: new DispatcherError("ANY", "any"),
  UnknownEventTypeError: new UnknownEventTypeError("credit.lockd"),
  SchemaVersionError: new SchemaVersionError("credit.locked", 9, "not_registered"),
  PayloadValidationError: new PayloadValidationError("credit.locked", 1, []),
  EnvelopeValidationError: new EnvelopeValidationError([]),
  RegistryError: new RegistryError("bad registry"),
  DispatcherConfigError: new DispatcherConfigError("bad", "producer"),
  ProducerMismatchError: new ProducerMismatchError("credit.locked", "revenue", "coaching"),
  DispatcherStateError: new DispatcherStateError("started twice"),
  HandlerTimeoutError: new HandlerTimeoutError("evt_1", 100),
  InvalidArgumentError: new InvalidArgumentError("bad", "emit"),
  DeadLetterNotFoundError: new DeadLetterNotFoundError(DLQ_ID),
  DeadLetterAlreadyResolvedError: new DeadLetterAlreadyResolvedError(DLQ_ID, new Date(0), "ops"),
  NoHandlerError: new NoHandlerError("credit.locked"),
  RetryLaterError: new RetryLaterError("later", 1000),
  PermanentFailureError: new PermanentFailureError("never"),
  TransactionClosedError: new TransactionClosedError("evt_1", "coaching"),
  CommitFailedError: new CommitFailedError("rolled back"),
  PayloadTooLargeError: new PayloadTooLargeError(1024),
  EventIdConflictError: new EventIdConflictError("evt_1"),
  ReprocessNotConfirmedError: new ReprocessNotConfirmedError("coaching"),
  TransactionAbortedError: new TransactionAbortedError(),
  UnknownConsumerError: new UnknownConsumerError("coachng", ["coaching"]),
  ReplayWaitTimeoutError: new ReplayWaitTimeoutError([DLQ_ID], ["coaching"], 5000),
  NotAConsumerError: new NotAConsumerError("credit.locked", "coaching", ["revenue"]),
  WaitForEventTimeoutError: new WaitForEventTimeoutError("credit.locked", 100, 0),
  SchemaOutdatedError: new SchemaOutdatedError("0003_events_after", "dispatcher_events_after"),
  NatsClientMissingError: new NatsClientMissingError("@nats-io/jetstream"),
  JetStreamTransportError: new JetStreamTransportError("stream", "refused"),
};

// The union, spelled out: a code missing here or not in DispatcherErrorCode does not compile.
const CODES = {
  UNKNOWN_EVENT_TYPE: true,
  SCHEMA_VERSION_NOT_REGISTERED: true,
  NO_PAYLOAD_SCHEMA: true,
  PAYLOAD_INVALID: true,
  ENVELOPE_INVALID: true,
  REGISTRY_INVALID: true,
  UNKNOWN_ID_PREFIX: true,
  CONFIG_INVALID: true,
  PRODUCER_MISMATCH: true,
  INVALID_STATE: true,
  HANDLER_TIMEOUT: true,
  INVALID_ARGUMENT: true,
  DEAD_LETTER_NOT_FOUND: true,
  DEAD_LETTER_ALREADY_RESOLVED: true,
  NO_HANDLER: true,
  RETRY_LATER: true,
  PERMANENT_FAILURE: true,
  TRANSACTION_CLOSED: true,
  COMMIT_FAILED: true,
  PAYLOAD_TOO_LARGE: true,
  EVENT_ID_CONFLICT: true,
  REPROCESS_NOT_CONFIRMED: true,
  TRANSACTION_ABORTED: true,
  UNKNOWN_CONSUMER: true,
  REPLAY_WAIT_TIMEOUT: true,
  NOT_A_CONSUMER: true,
  WAIT_FOR_EVENT_TIMEOUT: true,
  SCHEMA_OUTDATED: true,
  NATS_CLIENT_MISSING: true,
  JETSTREAM_FAILED: true,
} satisfies Record<DispatcherErrorCode, true>;

const exportedErrorClasses = Object.entries(api)
  .filter(([, value]) => typeof value === "function" && value.prototype instanceof Error)
  .map(([name]) => name);
const classes = exportedErrorClasses.map((name) => api[name as keyof typeof api] as unknown as typeof DispatcherError);

describe("error classes", () => {
  it("every class has a sample", () => {
    expect(exportedErrorClasses.sort()).toEqual(Object.keys(samples).sort());
  });

  it("X.isInstance is true for an X only: not for another class's error, not for a plain Error", () => {
    for (const cls of classes) {
      for (const [name, sample] of Object.entries(samples)) {
        expect(cls.isInstance(sample), `${name === "DispatcherError" ? "SguildError" : cls.name}.isInstance(${name})`).toBe(
          sample instanceof cls,
        );
      }
      expect(cls.isInstance(new Error("plain"))).toBe(false);
      expect(cls.isInstance(new TypeError("plain"))).toBe(false);
      expect(cls.isInstance({ code: "NO_HANDLER", message: "look-alike" })).toBe(false);
      expect(cls.isInstance(null)).toBe(false);
    }
    // the case issue 14 names: the check was shared, so any Sguild error passed it
    expect(NoHandlerError.isInstance(samples.DeadLetterNotFoundError)).toBe(false);
    expect(NoHandlerError.isInstance(samples.NoHandlerError)).toBe(true);
  });

  it("DispatcherError (SguildError) .isInstance is true for every one of them", () => {
    for (const sample of Object.values(samples)) expect(DispatcherError.isInstance(sample)).toBe(true);
  });

  it("isInstance narrows to the class", () => {
    const error: unknown = samples.NoHandlerError;
    if (NoHandlerError.isInstance(error)) expectTypeOf(error).toEqualTypeOf<NoHandlerError>();
    if (RetryLaterError.isInstance(error)) expectTypeOf(error.retryAfterMs).toEqualTypeOf<number | undefined>();
  });

  it("isInstance holds across two copies of the module (the ESM and the CJS build), where instanceof does not", async () => {
    vi.resetModules();
    const copy = await import("../src/errors/index.js");
    expect(copy.NoHandlerError).not.toBe(NoHandlerError);
    const foreign = new copy.NoHandlerError("credit.locked");
    expect(foreign instanceof NoHandlerError).toBe(false);
    expect(NoHandlerError.isInstance(foreign)).toBe(true);
    expect(DispatcherError.isInstance(foreign)).toBe(true);
    expect(DeadLetterNotFoundError.isInstance(foreign)).toBe(false);
    expect(copy.RetryLaterError.isInstance(samples.RetryLaterError)).toBe(true);
    expect(copy.RetryLaterError.isInstance(samples.PermanentFailureError)).toBe(false);
  });

  it("DispatcherErrorCode lists exactly the codes the classes carry", () => {
    const carried = [
      ...Object.entries(samples)
        .filter(([name]) => name !== "DispatcherError")
        .map(([, error]) => error),
      new SchemaVersionError("credit.locked", 1, "no_payload_schema"),
      // newId's, from @sguild/contracts: the dispatcher does not re-export the class, the union has its code
      new UnknownIdPrefixError("x"),
    ].map((error) => error.code);
    expect([...new Set(carried)].sort()).toEqual(Object.keys(CODES).sort());
  });
});
