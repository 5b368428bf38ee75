import type { Registry } from "@sguild/contracts";
import type { EventEnvelope } from "../envelope/index.js";
import { EnvelopeValidationError, PayloadValidationError, type ValidationIssue } from "../errors/index.js";

// What JSON Schema lets through but PostgreSQL refuses to store: the NUL character (22P05 in jsonb,
// 22021 in text), a lone UTF-16 surrogate (22P02 in jsonb; silently replaced in text), and a
// date or date-time that passes the RFC 3339 formats but not PostgreSQL's input (year 0000: 22008,
// a UTC offset past ±15:59: 22009). These checks run before any SQL, so each is a validation
// failure naming the field, never a database error.

const MAX_ISSUES = 20;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DATE_TIME = /^(\d{4})-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-](\d\d)(?::?(\d\d))?)$/;
const DATE = /^(\d{4})-\d\d-\d\d$/;
const MAX_OFFSET_MINUTES = 15 * 60 + 59;

/** A JSON Pointer segment, as ajv writes instance paths. */
export const pointer = (path: string, key: string | number) => `${path}/${String(key).replace(/~/g, "~0").replace(/\//g, "~1")}`;

/** Why PostgreSQL cannot store this string, if it cannot. */
export function textIssue(path: string, value: string): ValidationIssue | undefined {
  const nul = value.indexOf("\u0000");
  if (nul >= 0)
    return {
      path,
      keyword: "noNulCharacter",
      message: `must not contain the NUL character \\u0000 (at index ${nul}): PostgreSQL cannot store it`,
    };
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate) {
    const code = surrogate[0].charCodeAt(0).toString(16);
    return {
      path,
      keyword: "wellFormedUnicode",
      message: `must be well-formed Unicode: a lone surrogate \\u${code} at index ${surrogate.index}`,
    };
  }
  return undefined;
}

/** Why PostgreSQL cannot store this RFC 3339 date-time or date, if it cannot (a malformed one is ajv's to report). */
export function timestampIssue(path: string, value: string, format: "date-time" | "date"): ValidationIssue | undefined {
  const match = (format === "date" ? DATE : DATE_TIME).exec(value);
  if (!match) return undefined;
  const offset = Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
  if (match[1] !== "0000" && offset <= MAX_OFFSET_MINUTES) return undefined;
  const rule = format === "date" ? "a year from 0001 to 9999" : "a year from 0001 to 9999 and a UTC offset of at most ±15:59";
  return {
    path,
    keyword: format === "date" ? "dateRange" : "timestampRange",
    message: `must be a ${format} PostgreSQL can store: ${rule} (got "${value}")`,
  };
}

/**
 * Walks a JSON value as JSON.stringify would: every string and every object key must be storable;
 * a cycle or a BigInt (which JSON.stringify throws on) is an issue too.
 */
export function textIssues(value: unknown, path = "", issues: ValidationIssue[] = []): ValidationIssue[] {
  const ancestors = new Set<object>();
  const walk = (node: unknown, at: string): void => {
    if (issues.length >= MAX_ISSUES) return;
    if (typeof node === "string") {
      const issue = textIssue(at, node);
      if (issue) issues.push(issue);
      return;
    }
    if (typeof node === "bigint") {
      issues.push({ path: at, keyword: "type", message: "must be a JSON value: a BigInt has no JSON form (pass a number or a string)" });
      return;
    }
    if (typeof node !== "object" || node === null) return;
    const json = (node as { toJSON?: unknown }).toJSON;
    if (typeof json === "function") return walk((json as () => unknown).call(node), at);
    if (ancestors.has(node)) {
      issues.push({ path: at, keyword: "cycle", message: "must be a JSON value: it contains itself (a circular reference)" });
      return;
    }
    ancestors.add(node);
    if (Array.isArray(node)) node.forEach((item, index) => walk(item, pointer(at, index)));
    else {
      for (const [key, item] of Object.entries(node)) {
        const keyIssue = textIssue(pointer(at, key), key);
        if (keyIssue && issues.length < MAX_ISSUES) issues.push({ ...keyIssue, message: `property name ${keyIssue.message}` });
        walk(item, pointer(at, key));
      }
    }
    ancestors.delete(node);
  };
  walk(value, path);
  return issues;
}

type Schema = Record<string, unknown>;
const isSchema = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Follows a payload schema (properties, patternProperties, additionalProperties, items, prefixItems,
 * allOf/anyOf/oneOf) to its date and date-time strings.
 */
export function formatIssues(schema: unknown, value: unknown, path = "", issues: ValidationIssue[] = []): ValidationIssue[] {
  if (!isSchema(schema) || issues.length >= MAX_ISSUES) return issues;
  if (typeof value === "string" && (schema["format"] === "date-time" || schema["format"] === "date")) {
    const issue = timestampIssue(path, value, schema["format"]);
    if (issue && !issues.some((i) => i.path === path && i.keyword === issue.keyword)) issues.push(issue);
  }
  for (const combinator of ["allOf", "anyOf", "oneOf"]) {
    const branches = schema[combinator];
    if (Array.isArray(branches)) for (const branch of branches) formatIssues(branch, value, path, issues);
  }
  if (Array.isArray(value)) {
    const prefix = Array.isArray(schema["prefixItems"]) ? (schema["prefixItems"] as unknown[]) : [];
    value.forEach((item, index) =>
      formatIssues(index < prefix.length ? prefix[index] : schema["items"], item, pointer(path, index), issues),
    );
  } else if (isSchema(value)) {
    const properties = isSchema(schema["properties"]) ? schema["properties"] : {};
    const patterns = isSchema(schema["patternProperties"]) ? Object.entries(schema["patternProperties"]) : [];
    for (const [key, item] of Object.entries(value)) {
      const matching = patterns.filter(([pattern]) => new RegExp(pattern, "u").test(key)).map(([, sub]) => sub);
      const subschemas = Object.hasOwn(properties, key)
        ? [properties[key], ...matching]
        : matching.length
          ? matching
          : [schema["additionalProperties"]];
      for (const sub of subschemas) formatIssues(sub, item, pointer(path, key), issues);
    }
  }
  return issues;
}

/** Envelope fields (and the stored trace context) PostgreSQL cannot store. */
export function envelopeStorageIssues(envelope: EventEnvelope, traceContext?: Record<string, string>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [field, value] of Object.entries(envelope)) {
    if (field === "payload" || typeof value !== "string") continue;
    const issue =
      field === "occurred_at"
        ? (textIssue("/occurred_at", value) ?? timestampIssue("/occurred_at", value, "date-time"))
        : textIssue(pointer("", field), value);
    if (issue) issues.push(issue);
  }
  if (traceContext) textIssues(traceContext, "/trace_context", issues);
  return issues;
}

const schemas = new WeakMap<Registry, Map<string, unknown>>();

/** The payload schema of (event_type, schema_version), read once per registry. */
export function payloadSchema(registry: Registry, eventType: string, schemaVersion: number): unknown {
  const path = registry.getSchemaVersion(eventType, schemaVersion).payload_schema;
  let cache = schemas.get(registry);
  if (!cache) schemas.set(registry, (cache = new Map()));
  if (!cache.has(path)) cache.set(path, registry.readSchema(path));
  return cache.get(path);
}

/** Payload strings PostgreSQL cannot store; with the payload schema, its dates and date-times too. */
export function payloadStorageIssues(payload: unknown, schema?: unknown): ValidationIssue[] {
  const issues = textIssues(payload);
  if (schema !== undefined && !issues.some((i) => i.keyword === "cycle")) formatIssues(schema, payload, "", issues);
  return issues;
}

/**
 * The check every writer runs before its INSERT (publish, fanout, inbox): a typed validation
 * error naming the field, never a database error half-way through a transaction. With the
 * registry, the payload's date and date-time fields are checked against its schema too. An
 * envelope that buildEnvelope checked already has only its trace context left.
 */
export function assertStorable(
  envelope: EventEnvelope,
  traceContext?: Record<string, string>,
  options: { registry?: Registry | undefined; envelopeChecked?: boolean } = {},
): void {
  const envelopeIssues = options.envelopeChecked
    ? textIssues(traceContext ?? {}, "/trace_context")
    : envelopeStorageIssues(envelope, traceContext);
  if (envelopeIssues.length > 0) throw new EnvelopeValidationError(envelopeIssues);
  if (options.envelopeChecked) return;
  const schema = options.registry ? payloadSchema(options.registry, envelope.event_type, envelope.schema_version) : undefined;
  const issues = payloadStorageIssues(envelope.payload, schema);
  if (issues.length > 0) throw new PayloadValidationError(envelope.event_type, envelope.schema_version, issues);
}
