export * from "./migrate/index.js";
export * from "./merge/index.js";
export { quoteSchema, InvalidSchemaNameError } from "./schema/identifier.js";
export type { PrismaFragmentErrorCode } from "./error-codes.js";
