import { DispatcherConfigError } from "../errors/index.js";

/** Every default of the JetStream transport, with its unit. */
export const JETSTREAM_DEFAULTS = {
  /** Subjects are `<subjectPrefix>.<tenant>.<producer>.<event_type>`. */
  subjectPrefix: "sguild",
  /** Stream replicas (3 on a three-node cluster). */
  replicas: 1,
  /** Stream retention: "limits" keeps messages until maxAgeMs / maxBytes whoever reads them. */
  retention: "limits",
  /** How long the stream drops a re-published message with the same Nats-Msg-Id (the event id), in ms. */
  duplicateWindowMs: 120_000,
  /** How long the relay waits for the stream's acknowledgements of one transaction's publishes, in ms. */
  publishTimeoutMs: 10_000,
  /** Events the relay reads per delivery transaction (its publishes are acknowledged together). */
  relayBatchSize: 500,
  /** The relay's retry delays after a transaction the stream did not acknowledge, in ms. */
  relayRetryDelaysMs: [500, 2000, 5000, 15000] as readonly number[],
  /** Most messages the inbox stores in one transaction. */
  inboxBatchSize: 500,
  /** How long JetStream waits for the inbox's ack before delivering a message again, in ms. */
  ackWaitMs: 30_000,
  /** How long one of the inbox's pull requests waits on the server, in ms (see JetStreamInboxOptions.pullExpiresMs). */
  pullExpiresMs: 10_000,
  /** Messages one inbox consumer may hold unacknowledged (in flight, queued and being stored). */
  maxAckPending: 2000,
  /** The inbox's retry delays after a failed store (database down), in ms; the last one repeats. */
  storeRetryDelaysMs: [200, 1000, 5000] as readonly number[],
} as const;

export type StreamRetention = "limits" | "interest" | "workqueue";

/** The stream the relay publishes to and the inbox reads from, as `ensureStream` creates or updates it. */
export interface JetStreamStreamSettings {
  /** Stream name: letters, digits, `_` and `-`. */
  name: string;
  /** Replicas of the stream and of the inbox's consumers (1, 3 or 5; at most the cluster's size). Default 1. */
  replicas?: number;
  /** Messages older than this are removed; 0 or omitted: kept until another limit. */
  maxAgeMs?: number;
  /** Largest stream size in bytes, the oldest messages removed first; omitted: unlimited. */
  maxBytes?: number;
  /**
   * "limits" (default): kept until maxAgeMs / maxBytes. "interest": removed once every consumer
   * acknowledged them. "workqueue": removed once one consumer did (one consuming domain per event type only).
   */
  retention?: StreamRetention;
  /** A message published again with the same Nats-Msg-Id within this window is dropped by the stream. Default 120000 (2 minutes). */
  duplicateWindowMs?: number;
  /** "file" (default) or "memory". */
  storage?: "file" | "memory";
}

/** TLS options passed to the NATS client (Node's `tls.connect` options and the client's file shortcuts). */
export interface JetStreamTlsOptions {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  handshakeFirst?: boolean;
}

/**
 * One object configures the JetStream transport: where NATS is and how to authenticate
 * (user/password, token, nkey seed, a credentials file's content, or the client's own
 * authenticator), TLS, the stream, and the subject prefix.
 */
export interface JetStreamConfig {
  /** NATS URLs, e.g. `["nats://n1:4222", "nats://n2:4222"]` (the client learns the rest of a cluster). */
  servers: string | readonly string[];
  user?: string;
  pass?: string;
  token?: string;
  /** An nkey seed (`SU...`): the client signs the server's nonce with it. */
  nkeySeed?: string;
  /** The content of a `.creds` file (JWT and nkey seed). */
  credentials?: string;
  /** The client's own authenticator (`@nats-io/transport-node`'s `nkeyAuthenticator(...)`, ...), used as given. */
  authenticator?: unknown;
  /** TLS: `true` for the system's CAs, or the options. */
  tls?: boolean | JetStreamTlsOptions;
  /** Connection name shown by the server's monitoring. */
  name?: string;
  stream: JetStreamStreamSettings;
  /** First token of every subject. Default "sguild". */
  subjectPrefix?: string;
  /** Extra options handed to the NATS client's `connect` as they are (`waitOnFirstConnect`, `pingInterval`, ...). */
  connectionOptions?: Record<string, unknown>;
}

/** A configuration whose stream is only named: what reading the stream's state needs (status, the console). */
export type JetStreamStreamRef = Omit<JetStreamConfig, "stream"> & { stream: { name: string } };

export interface ResolvedStreamSettings {
  name: string;
  replicas: number;
  maxAgeMs: number;
  maxBytes: number;
  retention: StreamRetention;
  duplicateWindowMs: number;
  storage: "file" | "memory";
}

export interface ResolvedJetStreamConfig {
  servers: string[];
  stream: ResolvedStreamSettings;
  subjectPrefix: string;
  source: JetStreamConfig;
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,200}$/;
/** One subject token: no dot, wildcard or white space. */
export const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;

const refuse = (setting: string, message: string): never => {
  throw new DispatcherConfigError(`jetstream ${setting}: ${message}`, `jetstream.${setting}`);
};

const nonNegative = (value: number | undefined, fallback: number, setting: string): number => {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) refuse(setting, `must be a non-negative integer (got ${String(value)})`);
  return value;
};

/** Checks the configuration once; a missing or malformed setting throws DispatcherConfigError naming it (`jetstream.stream.name`, ...). */
export function resolveJetStreamConfig(config: JetStreamConfig): ResolvedJetStreamConfig {
  if (!config || typeof config !== "object") return refuse("config", "pass { servers, stream: { name } }");
  const servers = typeof config.servers === "string" ? config.servers.split(",").map((s) => s.trim()) : [...(config.servers ?? [])];
  if (servers.length === 0 || servers.some((s) => typeof s !== "string" || s === "")) refuse("servers", "give at least one NATS URL");
  const stream = config.stream;
  if (!stream || typeof stream.name !== "string" || !STREAM_NAME.test(stream.name)) {
    refuse("stream.name", `must be letters, digits, "_" or "-" (got ${JSON.stringify(stream?.name)})`);
  }
  const replicas = stream.replicas ?? JETSTREAM_DEFAULTS.replicas;
  if (![1, 2, 3, 4, 5].includes(replicas)) refuse("stream.replicas", `must be 1 to 5 (got ${String(replicas)})`);
  const retention = stream.retention ?? JETSTREAM_DEFAULTS.retention;
  if (!["limits", "interest", "workqueue"].includes(retention))
    refuse("stream.retention", `must be limits, interest or workqueue (got ${String(retention)})`);
  const storage = stream.storage ?? "file";
  if (storage !== "file" && storage !== "memory") refuse("stream.storage", `must be file or memory (got ${String(storage)})`);
  const maxAgeMs = nonNegative(stream.maxAgeMs, 0, "stream.maxAgeMs");
  const duplicateWindowMs = nonNegative(stream.duplicateWindowMs, JETSTREAM_DEFAULTS.duplicateWindowMs, "stream.duplicateWindowMs");
  if (duplicateWindowMs === 0) refuse("stream.duplicateWindowMs", "must be positive: it is what drops a relay's re-publish");
  if (maxAgeMs > 0 && duplicateWindowMs > maxAgeMs) refuse("stream.duplicateWindowMs", `must not exceed stream.maxAgeMs (${maxAgeMs})`);
  const subjectPrefix = config.subjectPrefix ?? JETSTREAM_DEFAULTS.subjectPrefix;
  if (typeof subjectPrefix !== "string" || !SUBJECT_TOKEN.test(subjectPrefix)) {
    refuse("subjectPrefix", `must be one subject token: letters, digits, "_" or "-" (got ${JSON.stringify(subjectPrefix)})`);
  }
  return {
    servers,
    subjectPrefix,
    source: config,
    stream: {
      name: stream.name,
      replicas,
      maxAgeMs,
      maxBytes: nonNegative(stream.maxBytes, 0, "stream.maxBytes"),
      retention,
      duplicateWindowMs,
      storage,
    },
  };
}

/** The subject of one event: `<prefix>.<tenant>.<producer>.<event_type>` (the event type keeps its dots). */
export const subjectFor = (prefix: string, tenantId: string, producer: string, eventType: string): string =>
  `${prefix}.${tenantId}.${producer}.${eventType}`;

/** The consumer name of the relay publishing to `stream` (its cursors in the source database). */
export const jetStreamRelayConsumerName = (stream: string): string => `jetstream:${stream.toLowerCase()}`;
