import { SguildError } from "@sguild/contracts";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const invalidSchemaNameErrorBrand = Symbol.for("sguild.error.InvalidSchemaNameError");
export class InvalidSchemaNameError extends SguildError {
  private readonly [invalidSchemaNameErrorBrand] = true;

  constructor(readonly schema: string) {
    super(
      "INVALID_SCHEMA_NAME",
      `schema name ${JSON.stringify(schema)} is not a plain Postgres identifier (letters, digits, _; at most 63)`,
    );
  }

  static override isInstance(value: unknown): value is InvalidSchemaNameError {
    return SguildError.hasMarker(value, invalidSchemaNameErrorBrand);
  }
}

/** Validates a Postgres schema name and returns it double-quoted; the one place identifiers are escaped. */
export function quoteSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) throw new InvalidSchemaNameError(schema);
  return `"${schema}"`;
}
