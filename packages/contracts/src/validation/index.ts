export { createAjv } from "./create-ajv.js";
export { ContractValidator, ENVELOPE_SCHEMA_PATH, toIssues } from "./contract-validator.js";
