export * from "./options.js";
export * from "./consumer-options.js";
export * from "./defaults.js";
