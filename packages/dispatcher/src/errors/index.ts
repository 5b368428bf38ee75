export * from "./dispatcher-errors.js";
