export { SguildError, type ContractErrorCode } from "./sguild-error.js";
export {
  UnknownEventTypeError,
  SchemaVersionError,
  PayloadValidationError,
  EnvelopeValidationError,
  RegistryError,
  type ValidationIssue,
} from "./contract-errors.js";
