import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ID_PREFIXES, type Domain, type Registry } from "@sguild/contracts";

export type ClientKind = "prisma" | "pg";

export interface SampleContext {
  domain: Domain;
  client: ClientKind;
  /** Import path of the generated Prisma client from the samples' folder (`.../client.js`, or `@prisma/client`). */
  prismaImport: string;
}

const ID_VALUE = new RegExp(
  `^(${[...ID_PREFIXES].sort((a, b) => b.length - a.length).join("|")})` +
    `_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** The first event type of the catalog that `pick` accepts and has a valid fixture, with that fixture's payload. */
export function sampleEvent(
  registry: Registry,
  pick: (producer: string, consumers: string[]) => boolean,
): { eventType: string; payload: unknown } | undefined {
  for (const eventType of registry.eventTypes) {
    const registration = registry.getRegistration(eventType);
    if (!pick(registration.producer, registration.consumers as string[])) continue;
    let version: number;
    try {
      version = registry.resolveSchemaVersion(eventType);
      registry.getSchemaVersion(eventType, version);
    } catch {
      continue;
    }
    // The sample publishes without a schema_version, so it is typed against the highest active
    // version: skip a type whose version resolved today is another (a newer one not active yet).
    const highest = Math.max(...registration.schema_versions.filter((v) => v.status === "active").map((v) => v.version));
    if (version !== highest) continue;
    const fixture = join(registry.root, "fixtures", `${eventType}-v${version}`, "valid-minimal.json");
    if (!existsSync(fixture)) continue;
    return { eventType, payload: (JSON.parse(readFileSync(fixture, "utf8")) as { payload: unknown }).payload };
  }
  return undefined;
}

/** A payload as TypeScript: fresh ids through newId, times as now. */
export function payloadSource(value: unknown, indent = "    "): string {
  if (typeof value === "string") {
    const id = ID_VALUE.exec(value);
    if (id) return `newId(${JSON.stringify(id[1])})`;
    if (DATE_TIME.test(value)) return "new Date().toISOString()";
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => payloadSource(v, indent)).join(", ")}]`;
  if (value && typeof value === "object") {
    const inner = `${indent}  `;
    const fields = Object.entries(value).map(
      ([k, v]) => `${inner}${/^[a-z_][a-z0-9_]*$/i.test(k) ? k : JSON.stringify(k)}: ${payloadSource(v, inner)},`,
    );
    return `{\n${fields.join("\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

const header = "// Written by `sguild-dispatcher init`. Yours to edit: init never overwrites a file.\n";

export function dispatcherSource(ctx: SampleContext): string {
  const url =
    "const databaseUrl = process.env.DATABASE_URL;\n" +
    'if (!databaseUrl) throw new Error("DATABASE_URL is not set: put it in .env (npx sguild-prisma-fragment dev prints one) ' +
    'and run with --env-file=.env");\n';
  const common = `  producer: ${JSON.stringify(ctx.domain)},
  tenantId: process.env.DISPATCHER_TENANT_ID ?? "tnt_sguild",`;
  const client =
    ctx.client === "prisma"
      ? {
          imports:
            `import { PrismaPg } from "@prisma/adapter-pg";\n` +
            `import { configureDispatcher } from "@sguild/dispatcher";\n` +
            `import { PrismaClient } from ${JSON.stringify(ctx.prismaImport)};`,
          make: "export const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });",
          name: "prisma",
          option: "prismaClient: prisma",
          txType: "Prisma's transaction client",
          close: "await prisma.$disconnect();",
          closes: "the connections",
        }
      : {
          imports: `import pg from "pg";\nimport { configureDispatcher } from "@sguild/dispatcher";`,
          make: "export const pool = new pg.Pool({ connectionString: databaseUrl });",
          name: "pool",
          option: "pool",
          txType: "a pg PoolClient",
          close: "await pool.end();",
          closes: "the pool",
        };
  return `${header}${client.imports}

${url}
${client.make}

/** This domain's dispatcher: publishes as ${ctx.domain}, handlers get ${client.txType} as ctx.tx. */
export const dispatcher = configureDispatcher({
${common}
  ${client.option},
  databaseUrl, // for LISTEN/NOTIFY wake-ups
});

// Types \`ctx.tx\` and \`tx\` wherever the \`dispatcher\` singleton is imported from @sguild/dispatcher.
declare module "@sguild/dispatcher" {
  interface Register {
    client: typeof ${client.name};
  }
}

/** Stops the consumer loop (if any), then closes ${client.closes}. */
export async function shutdown(): Promise<void> {
  await dispatcher.close();
  ${client.close}
}
`;
}

export function producerSource(ctx: SampleContext, sample: { eventType: string; payload: unknown }): string {
  const transaction =
    ctx.client === "prisma"
      ? `const event = await prisma.$transaction(async (tx) => {
  // Your domain write goes here, through tx: the event commits with it, or neither does.
  return dispatcher.publish({
    event_type: ${JSON.stringify(sample.eventType)},
    payload: ${payloadSource(sample.payload)},
  }, { tx });
});`
      : `const client = await pool.connect();
try {
  await client.query("BEGIN");
  // Your domain write goes here, through client: the event commits with it, or neither does.
  const event = await dispatcher.publish({
    event_type: ${JSON.stringify(sample.eventType)},
    payload: ${payloadSource(sample.payload)},
  }, { tx: client });
  await client.query("COMMIT");
  console.log(\`published \${event.event_type} \${event.event_id}\`);
} catch (error) {
  await client.query("ROLLBACK");
  throw error;
} finally {
  client.release();
}`;
  return `${header}// Publishes one ${sample.eventType} in the transaction of the domain write that caused it.
import { newId } from "@sguild/contracts";
import { dispatcher, ${ctx.client === "prisma" ? "prisma" : "pool"}, shutdown } from "./dispatcher.js";

${transaction}${ctx.client === "prisma" ? "\nconsole.log(\`published \${event.event_type} \${event.event_id}\`);" : ""}
await shutdown();
`;
}

export function consumerSource(ctx: SampleContext, eventType: string): string {
  const write =
    ctx.client === "prisma"
      ? "  // Write your projection through ctx.tx (Prisma's transaction client): it commits with the delivery, once."
      : "  // Write your projection through ctx.tx (a pg PoolClient): it commits with the delivery, once.";
  return `${header}// Consumes ${eventType} as consumer ${JSON.stringify(ctx.domain)}: each event once, in order, until Ctrl-C.
import { dispatcher, shutdown } from "./dispatcher.js";

dispatcher.subscribe(${JSON.stringify(eventType)}, async (event, ctx) => {
${write}
  console.log(\`received \${event.event_type} \${event.event_id} (attempt \${ctx.attempt})\`, event.payload);
});

await dispatcher.start({ consumer: ${JSON.stringify(ctx.domain)} });
console.log("consuming ${eventType}; Ctrl-C stops");
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void shutdown());
`;
}

export function simulateSource(sample: { eventType: string; payload: unknown }, producer: string): string {
  return `${header}// Puts one ${sample.eventType} into this database as if ${producer}'s relay had delivered it
// (for local development: the consumer then receives it). Tests use the same injectEvent.
import { newId } from "@sguild/contracts";
import { injectEvent } from "@sguild/dispatcher/testing";
import { dispatcher, shutdown } from "./dispatcher.js";

const event = await injectEvent(dispatcher, {
  event_type: ${JSON.stringify(sample.eventType)},
  payload: ${payloadSource(sample.payload, "  ")},
});
console.log(\`injected \${event.event_type} \${event.event_id} from ${producer}\`);
await shutdown();
`;
}
