export * from "./database.js";
export type * from "./client-types.js";
