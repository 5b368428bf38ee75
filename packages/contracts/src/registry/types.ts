/** The closed domain set of the envelope contract. */
export const DOMAINS = ["platform", "growth", "sales", "delivery", "revenue", "coaching"] as const;
export type Domain = (typeof DOMAINS)[number];
/** A consumer is a domain or the warehouse loader. */
export type ConsumerName = Domain | "platform-warehouse";

export type SchemaVersionStatus = "active" | "deprecated" | "sunset";

export interface SchemaVersionRegistration {
  version: number;
  /** Path relative to the contracts root, e.g. `contracts/identity/schema/payloads/x-v1.json`; null when not authored. */
  payload_schema: string | null;
  status: SchemaVersionStatus;
  registered_at: string;
  active_from?: string;
  deprecated_at?: string;
  notes?: string;
}

export interface Registration {
  producer: Domain;
  consumers: ConsumerName[];
  owning_contract: string | null;
  schema_versions: SchemaVersionRegistration[];
}

export interface RegistryDocument {
  registry_version: string;
  events: Record<string, Registration>;
  [key: string]: unknown;
}
