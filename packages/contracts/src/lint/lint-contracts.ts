import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { loadRegistry, type Registry } from "../registry/index.js";
import { DOMAINS } from "../registry/types.js";
import { createAjv } from "../validation/create-ajv.js";
import { ENVELOPE_SCHEMA_PATH, toIssues } from "../validation/contract-validator.js";

export interface LintProblem {
  rule: "schema-compiles" | "path-exists" | "id-matches-path" | "event-type" | "domain" | "versions" | "fixtures";
  /** The event_type, schema path or fixture file the problem is about. */
  where: string;
  message: string;
}

export interface LintOptions {
  /** Path to an event-types-registry.json; default: the one bundled in @sguild/contracts. */
  registryPath?: string;
  /** Folder with one sub-folder of fixtures per schema (`<event_type>-v<n>/`); default `<root>/fixtures`. */
  fixturesDir?: string;
  /** Base of every `$id`; an `$id` must be this plus the path below `contracts/`. */
  idBase?: string;
}

interface Fixture {
  valid: boolean;
  payload: unknown;
  expect?: { keyword: string; instancePath: string; params?: Record<string, unknown> };
}

const CONSUMERS = new Set<string>([...DOMAINS, "platform-warehouse"]);

/** Checks a registry and its schemas; returns every problem found (empty when clean). */
export function lintContracts(options: LintOptions = {}): LintProblem[] {
  const registry = loadRegistry(options.registryPath);
  const fixturesDir = options.fixturesDir ?? join(registry.root, "fixtures");
  const idBase = options.idBase ?? "https://contracts.sguild/";
  const problems: LintProblem[] = [];
  const ajv = createAjv();
  const compileAt = (path: string): ReturnType<typeof ajv.compile> | undefined => {
    try {
      return ajv.compile(registry.readSchema(path));
    } catch (error) {
      problems.push({ rule: "schema-compiles", where: path, message: (error as Error).message });
      return undefined;
    }
  };
  const envelope = existsSync(registry.resolvePath(ENVELOPE_SCHEMA_PATH)) ? compileAt(ENVELOPE_SCHEMA_PATH) : undefined;
  const eventTypeRule = envelope ? ajv.compile(eventTypeSchema(registry)) : undefined;

  for (const [eventType, registration] of Object.entries(registry.document.events)) {
    if (eventTypeRule && !eventTypeRule(eventType)) {
      problems.push({
        rule: "event-type",
        where: eventType,
        message: "the envelope's event_type rule refuses this name: it could never be published",
      });
    }
    if (!(DOMAINS as readonly string[]).includes(registration.producer)) {
      problems.push({ rule: "domain", where: eventType, message: `producer "${registration.producer}" is not in the closed domain set` });
    }
    for (const consumer of registration.consumers) {
      if (!CONSUMERS.has(consumer))
        problems.push({ rule: "domain", where: eventType, message: `consumer "${consumer}" is not a domain or platform-warehouse` });
    }
    registration.schema_versions.forEach((entry, index) => {
      const previous = index === 0 ? 0 : registration.schema_versions[index - 1]!.version;
      if (!Number.isInteger(entry.version) || (index === 0 ? entry.version !== 1 : entry.version <= previous)) {
        problems.push({
          rule: "versions",
          where: eventType,
          message: `version ${entry.version} at position ${index + 1}: versions start at 1 and increase`,
        });
      }
      if (entry.payload_schema) lintSchema(registry, entry.payload_schema, idBase, fixturesDir, compileAt, problems);
    });
  }
  return problems;
}

/** The envelope's `event_type` property on its own (pattern and lengths), to check registered names against. */
function eventTypeSchema(registry: Registry): Record<string, unknown> {
  const envelope = registry.readSchema(ENVELOPE_SCHEMA_PATH) as { properties?: { event_type?: Record<string, unknown> } };
  const { description: _description, ...rule } = envelope.properties?.event_type ?? { type: "string" };
  return rule;
}

function lintSchema(
  registry: Registry,
  path: string,
  idBase: string,
  fixturesDir: string,
  compileAt: (path: string) => (((data: unknown) => boolean) & { errors?: unknown }) | undefined,
  problems: LintProblem[],
): void {
  if (!existsSync(registry.resolvePath(path))) {
    problems.push({ rule: "path-exists", where: path, message: "payload_schema points at a file that does not exist" });
    return;
  }
  const expectedId = idBase + path.replace(/^contracts\//, "");
  const id = registry.readSchema(path)["$id"];
  if (id !== expectedId)
    problems.push({ rule: "id-matches-path", where: path, message: `$id is ${JSON.stringify(id)}, expected "${expectedId}"` });
  const validate = compileAt(path);
  if (validate) lintFixtures(join(fixturesDir, basename(path, ".json")), path, validate, problems);
}

function lintFixtures(
  dir: string,
  schemaPath: string,
  validate: ((data: unknown) => boolean) & { errors?: unknown },
  problems: LintProblem[],
): void {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
  const fixtures = files.map((file) => ({ file: join(dir, file), fixture: JSON.parse(readFileSync(join(dir, file), "utf8")) as Fixture }));
  if (!fixtures.some((f) => f.fixture.valid))
    problems.push({ rule: "fixtures", where: schemaPath, message: `no valid example fixture in ${dir}` });
  if (!fixtures.some((f) => !f.fixture.valid))
    problems.push({ rule: "fixtures", where: schemaPath, message: `no invalid example fixture in ${dir}` });
  for (const { file, fixture } of fixtures) {
    const message = checkFixture(fixture, validate);
    if (message) problems.push({ rule: "fixtures", where: file, message });
  }
}

/** Null when the fixture behaves as it says; otherwise why not. */
export function checkFixture(fixture: Fixture, validate: ((data: unknown) => boolean) & { errors?: unknown }): string | null {
  const accepted = validate(fixture.payload);
  if (fixture.valid) return accepted ? null : `valid fixture was refused: ${JSON.stringify(toIssues(validate.errors as never))}`;
  if (accepted) return "invalid fixture was accepted";
  const expect = fixture.expect;
  if (!expect) return "invalid fixture states no expected error";
  const errors = (validate.errors ?? []) as Array<{ keyword: string; instancePath: string; params: Record<string, unknown> }>;
  const match = errors.some(
    (e) =>
      e.keyword === expect.keyword &&
      e.instancePath === expect.instancePath &&
      Object.entries(expect.params ?? {}).every(([k, v]) => e.params[k] === v),
  );
  return match ? null : `refused, but not for the stated reason ${JSON.stringify(expect)}: ${JSON.stringify(toIssues(errors as never))}`;
}
