export { uncataloged } from "./types.js";
export type {
  EventEnvelope,
  Emit,
  EmitOf,
  DefaultEmit,
  DefaultPayloadOf,
  VersionedEmit,
  VersionOf,
  EmitExtras,
  AnyPayloadOf,
  UncatalogedEventType,
  UncatalogedEmit,
} from "./types.js";
