export { Registry, loadRegistry, getRegistration, resolveSchemaVersion } from "./registry.js";
export { bundledContractsRoot } from "./contracts-root.js";
export * from "./types.js";
