export { createFanoutRelay, FanoutRelay, fanoutConsumerName, type FanoutRelayOptions } from "./relay.js";
export { createInbox, type InboxOptions, type InboxKey } from "./inbox.js";
export { drainFanout, type DrainResult } from "./drain.js";
export {
  toCloudEvent,
  fromCloudEvent,
  toStructuredHttp,
  toBatchHttp,
  parseStructuredHttp,
  STRUCTURED_CONTENT_TYPE,
  BATCH_CONTENT_TYPE,
  type CloudEventSource,
} from "./cloud-event.js";
export type { BatchEventResult } from "./inbox-batch.js";
export { signBody, verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, KEY_ID_HEADER, type SignatureCheck } from "./signature.js";
export { createDestination, type Destination, type DestinationConfig } from "./destinations.js";
