/**
 * `@sguild/dispatcher/jetstream`: cross-domain delivery through NATS JetStream. Needs the NATS client
 * (optional peer dependencies): `npm i @nats-io/transport-node @nats-io/jetstream`.
 */
export {
  JETSTREAM_DEFAULTS,
  jetStreamRelayConsumerName,
  subjectFor,
  type JetStreamConfig,
  type JetStreamStreamRef,
  type JetStreamStreamSettings,
  type JetStreamTlsOptions,
  type StreamRetention,
} from "./config.js";
export { ensureStream, type EnsuredStream } from "./stream.js";
export { createJetStreamRelay, JetStreamRelay, type JetStreamRelayOptions, type JetStreamRelayPending } from "./relay.js";
export { createJetStreamInbox, JetStreamInbox, type JetStreamInboxOptions, type InboxConsumerState, type InboxCounts } from "./inbox.js";
export { jetStreamStatus, type JetStreamStatus } from "./status.js";
export { toJetStreamMessage, type OutgoingMessage } from "./message.js";
export {
  NatsClientMissingError,
  JetStreamTransportError,
  NATS_CLIENT_INSTALL,
  type JetStreamOperation,
} from "../errors/jetstream-errors.js";
