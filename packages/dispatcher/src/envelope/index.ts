export type { EventEnvelope, Emit, EmitExtras, AnyPayloadOf } from "./types.js";
