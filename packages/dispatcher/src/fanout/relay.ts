import type pg from "pg";
import { DEFAULTS, resolveConfig, type ConsumerLoopOptions, type DispatcherConfig } from "../config/index.js";
import { openPool } from "../database/index.js";
import { defaultLogger } from "../observability/index.js";
import { Dispatcher } from "../dispatcher/dispatcher.js";
import { uncataloged } from "../envelope/index.js";
import { DispatcherConfigError } from "../errors/index.js";
import { createDestination, type Destination, type DestinationConfig } from "./destinations.js";

export interface FanoutRelayOptions {
  /** The producer domain's dispatcher settings (its database, its producer name). */
  source: DispatcherConfig;
  /** Consumer domain -> where it receives events. Domains without a route are skipped. */
  destinations: Readonly<Record<string, DestinationConfig>>;
  /** Consumer loop options for each destination (batchSize, retryDelaysMs, ...). */
  consumerOptions?: Omit<ConsumerLoopOptions, "consumer">;
}

export const fanoutConsumerName = (domain: string) => `fanout:${domain}`;

/**
 * Relays the producer's committed events to every consumer domain the registry lists, one
 * consumer loop per destination (`fanout:<domain>`): the same no-skip, once-per-consumer
 * machinery, per-destination order and retries, and a destination that is down holds up only itself.
 */
export class FanoutRelay {
  readonly dispatchers = new Map<string, Dispatcher>();
  private readonly destinations = new Map<string, Destination>();

  /** The pool the relay opened from the source's databaseUrl, shared by every destination loop. */
  private readonly pool: pg.Pool | undefined;

  constructor(private readonly options: FanoutRelayOptions) {
    // The source is resolved (and refused) once; every destination loop shares its registry and
    // one database handle: the caller's client or pool, or one pool opened here from the URL.
    const given = options.source;
    const url = given.prismaClient || given.pool ? undefined : (given.databaseUrl ?? (process.env["DATABASE_URL"] || undefined));
    if (url) this.pool = openPool(url, given.logger ?? defaultLogger());
    let resolved: ReturnType<typeof resolveConfig>;
    try {
      resolved = resolveConfig(this.pool ? { ...given, pool: this.pool, databaseUrl: url } : given);
    } catch (error) {
      void this.pool?.end();
      throw error;
    }
    const source: DispatcherConfig = {
      ...given,
      registry: resolved.registry,
      logger: resolved.logger,
      ...(this.pool ? { pool: this.pool, databaseUrl: url } : {}),
    };
    const { registry, producer } = resolved;
    for (const [domain, config] of Object.entries(options.destinations)) {
      const types = registry.eventTypes.filter((t) => {
        const r = registry.getRegistration(t);
        return r.producer === producer && (r.consumers as string[]).includes(domain);
      });
      if (types.length === 0) continue;
      const destination = createDestination(config);
      const dispatcher = new Dispatcher(source);
      for (const type of types) {
        // The dataschema of each registered version, looked up once rather than per event.
        const schemaPaths = new Map(registry.getRegistration(type).schema_versions.map((v) => [v.version, v.payload_schema ?? undefined]));
        dispatcher.subscribe(uncataloged(type), (event, ctx) =>
          destination.deliver(event, {
            traceContext: ctx.traceContext,
            payloadSchemaPath: schemaPaths.get(event.schema_version),
            beforeCommit: ctx.beforeCommit,
          }),
        );
      }
      this.destinations.set(domain, destination);
      this.dispatchers.set(domain, dispatcher);
    }
    if (this.dispatchers.size === 0) {
      void this.pool?.end();
      throw new DispatcherConfigError(`no destination consumes any event of producer "${producer}"`, "destinations");
    }
  }

  async start(): Promise<void> {
    for (const [domain, dispatcher] of this.dispatchers) {
      await dispatcher.start({
        retryDelaysMs: [...DEFAULTS.fanout.retryDelaysMs],
        ...this.options.consumerOptions,
        consumer: fanoutConsumerName(domain),
      });
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.dispatchers.values()].map((d) => d.stop()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.dispatchers.values()].map((d) => d.close()));
    await Promise.all([...this.destinations.values()].map((d) => d.close()));
    await this.pool?.end();
  }

  /** Per destination: events still to deliver (lag) and parked refusals (active dead letters). */
  async pending(): Promise<Array<{ domain: string; lagEvents: number; deadLetters: number; retrying: number }>> {
    const result = [];
    for (const [domain, dispatcher] of this.dispatchers) {
      const rows = await dispatcher.status(fanoutConsumerName(domain));
      result.push({
        domain,
        lagEvents: rows.reduce((n, r) => n + r.lagEvents, 0),
        deadLetters: rows.reduce((n, r) => n + r.activeDeadLetters, 0),
        retrying: rows.filter((r) => r.failedAttempts > 0).length,
      });
    }
    return result;
  }
}

export function createFanoutRelay(options: FanoutRelayOptions): FanoutRelay {
  return new FanoutRelay(options);
}
