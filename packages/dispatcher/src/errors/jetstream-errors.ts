import { SguildError } from "@sguild/contracts";

/** What `npm i` installs the NATS client the JetStream transport loads on demand. */
export const NATS_CLIENT_INSTALL = "npm i @nats-io/transport-node @nats-io/jetstream";

const natsClientMissingErrorBrand = Symbol.for("sguild.error.NatsClientMissingError");
/**
 * `@sguild/dispatcher/jetstream` was used without the NATS client packages (optional peer
 * dependencies: installations that do not use NATS need nothing extra).
 */
export class NatsClientMissingError extends SguildError {
  private readonly [natsClientMissingErrorBrand] = true;

  constructor(
    readonly missing: string,
    options: { cause?: unknown } = {},
  ) {
    super("NATS_CLIENT_MISSING", `the JetStream transport needs the NATS client (${missing} is not installed): ${NATS_CLIENT_INSTALL}`, {
      ...options,
      details: { missing },
    });
  }

  static override isInstance(value: unknown): value is NatsClientMissingError {
    return SguildError.hasMarker(value, natsClientMissingErrorBrand);
  }
}

/** Which JetStream step failed: reaching the servers, creating or updating the stream or a consumer, reading a consumer's state. */
export type JetStreamOperation = "connect" | "stream" | "consumer" | "info";

const jetStreamTransportErrorBrand = Symbol.for("sguild.error.JetStreamTransportError");
/** NATS could not be reached, or refused to create or update the stream or a consumer (the server's reason is the cause). */
export class JetStreamTransportError extends SguildError {
  private readonly [jetStreamTransportErrorBrand] = true;

  constructor(
    readonly operation: JetStreamOperation,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super("JETSTREAM_FAILED", message, { cause: options.cause, details: { operation, ...options.details } });
  }

  static override isInstance(value: unknown): value is JetStreamTransportError {
    return SguildError.hasMarker(value, jetStreamTransportErrorBrand);
  }
}
