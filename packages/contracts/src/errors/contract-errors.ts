import { SguildError } from "./sguild-error.js";

/** One failing rule of a JSON Schema: the field path (JSON Pointer) and the keyword it broke. */
export interface ValidationIssue {
  path: string;
  keyword: string;
  message: string;
}

const unknownEventTypeErrorBrand = Symbol.for("sguild.error.UnknownEventTypeError");
export class UnknownEventTypeError extends SguildError {
  private readonly [unknownEventTypeErrorBrand] = true;

  constructor(readonly eventType: string) {
    super("UNKNOWN_EVENT_TYPE", `event_type "${eventType}" is not in the event-type registry`, { details: { eventType } });
  }

  static override isInstance(value: unknown): value is UnknownEventTypeError {
    return SguildError.hasMarker(value, unknownEventTypeErrorBrand);
  }
}

const schemaVersionErrorBrand = Symbol.for("sguild.error.SchemaVersionError");
export class SchemaVersionError extends SguildError {
  private readonly [schemaVersionErrorBrand] = true;

  constructor(
    readonly eventType: string,
    readonly schemaVersion: number | undefined,
    reason: "not_registered" | "no_payload_schema" | "sunset" | "none_active",
  ) {
    const messages = {
      not_registered: `schema_version ${schemaVersion} of "${eventType}" is not registered`,
      no_payload_schema: `schema_version ${schemaVersion} of "${eventType}" has no payload schema in the registry`,
      sunset: `schema_version ${schemaVersion} of "${eventType}" is sunset and no longer accepted`,
      none_active: `"${eventType}" has no active schema_version yet`,
    };
    const code = reason === "no_payload_schema" ? "NO_PAYLOAD_SCHEMA" : "SCHEMA_VERSION_NOT_REGISTERED";
    super(code, messages[reason], { details: { eventType, schemaVersion, reason } });
  }

  static override isInstance(value: unknown): value is SchemaVersionError {
    return SguildError.hasMarker(value, schemaVersionErrorBrand);
  }
}

function describe(issues: ValidationIssue[]): string {
  return issues.map((issue) => `${issue.path || "/"} ${issue.message} (${issue.keyword})`).join("; ");
}

const payloadValidationErrorBrand = Symbol.for("sguild.error.PayloadValidationError");
export class PayloadValidationError extends SguildError {
  private readonly [payloadValidationErrorBrand] = true;

  constructor(
    readonly eventType: string,
    readonly schemaVersion: number,
    readonly issues: ValidationIssue[],
  ) {
    super("PAYLOAD_INVALID", `payload of "${eventType}" v${schemaVersion} is invalid: ${describe(issues)}`, {
      details: { eventType, schemaVersion, issues },
    });
  }

  static override isInstance(value: unknown): value is PayloadValidationError {
    return SguildError.hasMarker(value, payloadValidationErrorBrand);
  }
}

const envelopeValidationErrorBrand = Symbol.for("sguild.error.EnvelopeValidationError");
export class EnvelopeValidationError extends SguildError {
  private readonly [envelopeValidationErrorBrand] = true;

  constructor(readonly issues: ValidationIssue[]) {
    super("ENVELOPE_INVALID", `event envelope is invalid: ${describe(issues)}`, { details: { issues } });
  }

  static override isInstance(value: unknown): value is EnvelopeValidationError {
    return SguildError.hasMarker(value, envelopeValidationErrorBrand);
  }
}

const registryErrorBrand = Symbol.for("sguild.error.RegistryError");
export class RegistryError extends SguildError {
  private readonly [registryErrorBrand] = true;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super("REGISTRY_INVALID", message, options);
  }

  static override isInstance(value: unknown): value is RegistryError {
    return SguildError.hasMarker(value, registryErrorBrand);
  }
}
