import type * as NatsTransport from "@nats-io/transport-node";
import type * as NatsJetStream from "@nats-io/jetstream";
import { JetStreamTransportError, NatsClientMissingError } from "../errors/index.js";
import type { ResolvedJetStreamConfig } from "./config.js";

export type NatsConnection = NatsTransport.NatsConnection;
export type JetStreamClient = NatsJetStream.JetStreamClient;
export type JetStreamManager = NatsJetStream.JetStreamManager;
export type JsMsg = NatsJetStream.JsMsg;

/** The NATS client's two packages, loaded on first use: optional peer dependencies of @sguild/dispatcher. */
export interface NatsModules {
  transport: typeof NatsTransport;
  jetstream: typeof NatsJetStream;
}

/** An open connection with its JetStream client and manager. */
export interface NatsSession {
  modules: NatsModules;
  connection: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

type Importer = (name: string) => Promise<unknown>;

const PACKAGES = ["@nats-io/transport-node", "@nats-io/jetstream"] as const;

const isMissing = (error: unknown, name: string): boolean => {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && String(message).includes(name);
};

/**
 * Loads the NATS client. A package that is not installed is a NatsClientMissingError naming the
 * `npm i` to run; `importer` stands in for `import()` in tests.
 */
export async function loadNatsClient(importer?: Importer): Promise<NatsModules> {
  const load: Importer = importer ?? ((name) => (name === PACKAGES[0] ? import("@nats-io/transport-node") : import("@nats-io/jetstream")));
  const modules: unknown[] = [];
  for (const name of PACKAGES) {
    try {
      modules.push(await load(name));
    } catch (error) {
      if (isMissing(error, name)) throw new NatsClientMissingError(name, { cause: error });
      throw error;
    }
  }
  return { transport: modules[0] as typeof NatsTransport, jetstream: modules[1] as typeof NatsJetStream };
}

const encode = (text: string) => new TextEncoder().encode(text);

/** The client's connect options for the configuration: credentials and TLS passed through, reconnecting for ever. */
export function connectOptions(config: ResolvedJetStreamConfig, modules: NatsModules): NatsTransport.NodeConnectionOptions {
  const given = config.source;
  const options: NatsTransport.NodeConnectionOptions = {
    servers: config.servers,
    name: given.name ?? "sguild-dispatcher",
    // A relay or an inbox outlives NATS restarts: it never gives the connection up.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // The client would otherwise build two Error objects (their stacks) per request, a publish included.
    noAsyncTraces: true,
  };
  if (given.user !== undefined) options.user = given.user;
  if (given.pass !== undefined) options.pass = given.pass;
  if (given.token !== undefined) options.token = given.token;
  const authenticators: NatsTransport.Authenticator[] = [];
  if (given.nkeySeed) authenticators.push(modules.transport.nkeyAuthenticator(encode(given.nkeySeed)));
  if (given.credentials) authenticators.push(modules.transport.credsAuthenticator(encode(given.credentials)));
  if (given.authenticator) authenticators.push(given.authenticator as NatsTransport.Authenticator);
  if (authenticators.length > 0) options.authenticator = authenticators.length === 1 ? authenticators[0]! : authenticators;
  if (given.tls) options.tls = given.tls === true ? {} : { ...given.tls };
  return { ...options, ...(given.connectionOptions as Partial<NatsTransport.NodeConnectionOptions> | undefined) };
}

/** Connects to NATS; a refusal or unreachable servers are a JetStreamTransportError ("connect"). */
export async function openNatsSession(config: ResolvedJetStreamConfig, importer?: Importer): Promise<NatsSession> {
  const modules = await loadNatsClient(importer);
  let connection: NatsConnection;
  try {
    connection = await modules.transport.connect(connectOptions(config, modules));
  } catch (error) {
    throw new JetStreamTransportError("connect", `cannot connect to NATS at ${config.servers.join(", ")}: ${(error as Error)?.message}`, {
      cause: error,
      details: { servers: config.servers },
    });
  }
  const js = modules.jetstream.jetstream(connection);
  const jsm = await modules.jetstream.jetstreamManager(connection, { checkAPI: false });
  return { modules, connection, js, jsm };
}

/** Drains then closes the connection (acks and publishes already written are flushed); never throws. */
export async function closeNatsSession(session: NatsSession | undefined): Promise<void> {
  if (!session || session.connection.isClosed()) return;
  await session.connection.drain().catch(() => session.connection.close().catch(() => undefined));
}
