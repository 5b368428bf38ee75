import pg from "pg";
import type { Logger } from "../observability/index.js";
import { DEFAULTS } from "../config/defaults.js";

export const NOTIFY_CHANNEL = "dispatcher_event_inserted";
/** A notification payload meaning "look at every type": sent when a chunk of a backlog was numbered in the background. */
export const NOTIFY_ALL_TYPES = "*";
const CONNECT_TIMEOUT_MS = DEFAULTS.pools.listenConnectTimeoutMs;

export interface ListenerOptions {
  connectionString: string;
  consumer: string;
  eventTypes: ReadonlySet<string>;
  /** A notification for one of `eventTypes` (its type), or a (re)connect (no type: look at every type). */
  onWake: (eventType?: string) => void;
  reconnectDelaysMs: readonly number[];
  heartbeatMs: number;
  logger: Logger;
}

/**
 * LISTEN on a dedicated connection (never a pooled one). Reconnects with backoff on error or
 * end; a heartbeat catches a half-open connection that never errors. Each (re)connect wakes
 * the loop once, so anything published while disconnected is picked up at once.
 */
export class NotificationListener {
  private client: pg.Client | undefined;
  private failures = 0;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Successful connects so far (observable for tests and status). */
  connects = 0;

  constructor(private readonly options: ListenerOptions) {}

  start(): void {
    void this.connect();
  }

  get connected(): boolean {
    return this.client !== undefined && this.heartbeatTimer !== undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: `sguild-dispatcher-listen:${this.options.consumer}`,
      keepAlive: true,
      // A connect that never completes (a silent network) must fail and be retried.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    this.client = client;
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("LISTEN connection ended")));
    client.on("notification", (message) => {
      if (message.payload === NOTIFY_ALL_TYPES) this.options.onWake();
      else if (message.payload && this.options.eventTypes.has(message.payload)) this.options.onWake(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      if (this.client !== client) return;
      this.failures = 0;
      this.connects += 1;
      this.heartbeatTimer = setInterval(() => void this.heartbeat(client), this.options.heartbeatMs);
      this.heartbeatTimer.unref();
      this.options.logger.debug({ consumer: this.options.consumer }, "dispatcher LISTEN connected");
      this.options.onWake();
    } catch (error) {
      this.lost(client, error);
    }
  }

  private async heartbeat(client: pg.Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("LISTEN heartbeat timed out")), Math.min(5000, this.options.heartbeatMs));
    });
    try {
      const result = await Promise.race([client.query<{ channel: string }>("SELECT pg_listening_channels() AS channel"), timeout]);
      if (!result.rows.some((row) => row.channel === NOTIFY_CHANNEL)) throw new Error("LISTEN channel missing");
    } catch (error) {
      this.lost(client, error);
    } finally {
      clearTimeout(timer);
    }
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    destroy(client);
    const delays = this.options.reconnectDelaysMs;
    const delay = delays[Math.min(this.failures, delays.length - 1)] ?? 1000;
    this.failures += 1;
    this.options.logger.warn({ consumer: this.options.consumer, err: error, retryInMs: delay }, "dispatcher LISTEN connection lost");
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // A clean UNLISTEN and end, unless the connection does not answer within a second.
    let timer: NodeJS.Timeout | undefined;
    const clean = (async () => {
      await client.query(`UNLISTEN ${NOTIFY_CHANNEL}`);
      await client.end();
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("LISTEN connection did not close")), 1000);
    });
    try {
      await Promise.race([clean, timeout]);
    } catch {
      clean.catch(() => undefined);
      destroy(client);
    } finally {
      clearTimeout(timer);
    }
  }
}

function destroy(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  client.end().catch(() => undefined);
}
