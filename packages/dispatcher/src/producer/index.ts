export { buildEnvelope, type EmitInput } from "./build-envelope.js";
export { EventWriter, envelopeValues, type StoredEvent } from "./insert-events.js";
export { runWithConsumedEvent, inheritedCorrelationId } from "./correlation.js";
export { assertTransactionClient, isTransactionAborted } from "./transaction-client.js";
export { assertStorable } from "./storable.js";
