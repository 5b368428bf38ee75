import { loadRegistry } from "@sguild/contracts";
import { expect, it } from "vitest";
import { sampleEvent } from "../../src/init/samples.js";

// init's producer sample publishes without schema_version, so its payload must be of the version
// the typed catalog defaults to (the highest active one), or the written sample does not compile.
it("a producer sample's event type is published today at the version the types default to, for every domain", () => {
  const registry = loadRegistry();
  for (const domain of ["platform", "growth", "sales", "delivery", "revenue", "coaching"]) {
    const sample = sampleEvent(registry, (producer) => producer === domain);
    expect(sample, domain).toBeDefined();
    const versions = registry.getRegistration(sample!.eventType).schema_versions;
    const highest = Math.max(...versions.filter((v) => v.status === "active").map((v) => v.version));
    expect([domain, registry.resolveSchemaVersion(sample!.eventType)]).toEqual([domain, highest]);
  }
});
