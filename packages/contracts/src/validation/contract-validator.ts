import type { ErrorObject, ValidateFunction } from "ajv";
import type { Ajv2020 } from "ajv/dist/2020.js";
import { EnvelopeValidationError, PayloadValidationError, type ValidationIssue } from "../errors/index.js";
import { loadRegistry, type Registry } from "../registry/index.js";
import { createAjv } from "./create-ajv.js";

export const ENVELOPE_SCHEMA_PATH = "contracts/event-envelope/schema/envelope-v1.json";

/** ajv errors as field paths: a missing property is reported at its own path. */
export function toIssues(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
  return (errors ?? []).map((error) => {
    const missing = error.keyword === "required" ? `/${String(error.params["missingProperty"])}` : "";
    return { path: `${error.instancePath}${missing}`, keyword: error.keyword, message: error.message ?? error.keyword };
  });
}

/** Validates envelopes and payloads against a registry; compiled validators are cached. */
export class ContractValidator {
  private readonly ajv: Ajv2020 = createAjv();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly registry: Registry = loadRegistry()) {}

  private compile(relativePath: string): ValidateFunction {
    let validate = this.compiled.get(relativePath);
    if (!validate) {
      validate = this.ajv.compile(this.registry.readSchema(relativePath));
      this.compiled.set(relativePath, validate);
    }
    return validate;
  }

  envelopeIssues(envelope: unknown): ValidationIssue[] {
    const validate = this.compile(ENVELOPE_SCHEMA_PATH);
    return validate(envelope) ? [] : toIssues(validate.errors);
  }

  payloadIssues(eventType: string, schemaVersion: number, payload: unknown): ValidationIssue[] {
    const entry = this.registry.getSchemaVersion(eventType, schemaVersion);
    const validate = this.compile(entry.payload_schema);
    return validate(payload) ? [] : toIssues(validate.errors);
  }

  assertEnvelope(envelope: unknown): void {
    const issues = this.envelopeIssues(envelope);
    if (issues.length > 0) throw new EnvelopeValidationError(issues);
  }

  assertPayload(eventType: string, schemaVersion: number, payload: unknown): void {
    const issues = this.payloadIssues(eventType, schemaVersion, payload);
    if (issues.length > 0) throw new PayloadValidationError(eventType, schemaVersion, issues);
  }
}
