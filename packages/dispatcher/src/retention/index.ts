export { pruneTables, PRUNE_DEFAULTS, type PruneOptions, type PruneResult } from "./prune.js";
export { parseDuration } from "./duration.js";
