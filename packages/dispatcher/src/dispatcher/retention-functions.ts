import type { PruneOptions, PruneResult } from "../retention/index.js";
import { dispatcher } from "./singleton.js";

// The seed README's retention call, on the configured `dispatcher` singleton. The deleting is
// retention/'s pruneTables; this wrapper stays beside the singleton so that retention/ never imports dispatcher/.

/** Retention on the configured dispatcher's database; see PruneOptions for the defaults. */
export function pruneDispatcherTables(options?: PruneOptions): Promise<PruneResult> {
  return dispatcher.prune(options);
}
