export * from "./errors/index.js";
export * from "./registry/index.js";
export * from "./validation/index.js";
export * from "./lint/index.js";
export type * from "./catalog/index.js";
export * from "./ids/index.js";
