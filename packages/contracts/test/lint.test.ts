import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFixture, createAjv, lintContracts, loadRegistry } from "../src/index.js";

const root = process.cwd();

function scratchCopy(): { registryPath: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "lint-"));
  cpSync(join(root, "contracts"), join(dir, "contracts"), { recursive: true });
  cpSync(join(root, "fixtures"), join(dir, "fixtures"), { recursive: true });
  return { registryPath: join(dir, "contracts/event-types-registry.json"), dir };
}

function editRegistry(path: string, edit: (doc: { events: Record<string, any> }) => void): void {
  const doc = JSON.parse(readFileSync(path, "utf8"));
  edit(doc);
  writeFileSync(path, JSON.stringify(doc, null, 2));
}

describe("the bundled contracts", () => {
  it("lint clean", () => {
    expect(lintContracts()).toEqual([]);
  });

  const registry = loadRegistry();
  const ajv = createAjv();
  const schemas = Object.values(registry.document.events).flatMap((r) =>
    r.schema_versions.flatMap((v) => (v.payload_schema ? [v.payload_schema] : [])),
  );
  it("have 53 payload schemas, each with fixtures", () => {
    expect(schemas).toHaveLength(53);
    expect(readdirSync(join(root, "fixtures")).sort()).toEqual(schemas.map((s) => s.split("/").pop()!.replace(".json", "")).sort());
  });
  for (const schema of schemas) {
    const name = schema.split("/").pop()!.replace(".json", "");
    const validate = ajv.compile(registry.readSchema(schema));
    for (const file of readdirSync(join(root, "fixtures", name))) {
      const fixture = JSON.parse(readFileSync(join(root, "fixtures", name, file), "utf8"));
      it(
        `${name}/${file} is ` +
          `${fixture.valid ? "accepted" : `refused for ${fixture.expect.keyword} at "${fixture.expect.instancePath}"`}`,
        () => {
          expect(checkFixture(fixture, validate)).toBeNull();
          expect(validate(fixture.payload)).toBe(fixture.valid);
        },
      );
    }
  }
});

describe("the linter catches", () => {
  it("a broken fixture: an invalid example that the schema accepts", () => {
    const { registryPath, dir } = scratchCopy();
    const file = join(dir, "fixtures/credit.locked-v1/invalid-missing-credit-reservation-id.json");
    const fixture = JSON.parse(readFileSync(file, "utf8"));
    fixture.payload.credit_reservation_id = "crr_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182";
    writeFileSync(file, JSON.stringify(fixture));
    expect(lintContracts({ registryPath })).toEqual([{ rule: "fixtures", where: file, message: "invalid fixture was accepted" }]);
  });

  it("a schema with no invalid fixture", () => {
    const { registryPath, dir } = scratchCopy();
    for (const f of readdirSync(join(dir, "fixtures/credit.funded-v1"))) {
      if (f.startsWith("invalid")) rmSync(join(dir, "fixtures/credit.funded-v1", f));
    }
    expect(lintContracts({ registryPath })).toEqual([
      {
        rule: "fixtures",
        where: "contracts/credit-reservation-lock/schema/payloads/credit.funded-v1.json",
        message: `no invalid example fixture in ${join(dir, "fixtures/credit.funded-v1")}`,
      },
    ]);
  });

  it("an event type the envelope's event_type rule refuses (it could never be published)", () => {
    const { registryPath } = scratchCopy();
    editRegistry(registryPath, (doc) => {
      doc.events["Lesson.Held"] = doc.events["lesson.attended"];
      doc.events["delivery.lesson hold.created"] = doc.events["lesson.attended"];
    });
    const message = "the envelope's event_type rule refuses this name: it could never be published";
    expect(lintContracts({ registryPath })).toEqual([
      { rule: "event-type", where: "Lesson.Held", message },
      { rule: "event-type", where: "delivery.lesson hold.created", message },
    ]);
  });

  it("a registry path to a missing file", () => {
    const { registryPath } = scratchCopy();
    editRegistry(registryPath, (doc) => {
      doc.events["credit.locked"].schema_versions[0].payload_schema =
        "contracts/credit-reservation-lock/schema/payloads/credit.lockd-v1.json";
    });
    expect(lintContracts({ registryPath })).toEqual([
      {
        rule: "path-exists",
        where: "contracts/credit-reservation-lock/schema/payloads/credit.lockd-v1.json",
        message: "payload_schema points at a file that does not exist",
      },
    ]);
  });

  it("an $id that does not match its path, a schema that does not compile, a bad domain, a bad version sequence", () => {
    const { registryPath, dir } = scratchCopy();
    const schemaFile = join(dir, "contracts/credit-reservation-lock/schema/payloads/credit.funded-v1.json");
    const schema = JSON.parse(readFileSync(schemaFile, "utf8"));
    schema.$id = "https://contracts.sguild/elsewhere.json";
    schema.properties.funded_at.minimum = "yes";
    writeFileSync(schemaFile, JSON.stringify(schema));
    editRegistry(registryPath, (doc) => {
      doc.events["credit.locked"].producer = "operations";
      doc.events["credit.locked"].consumers.push("finance");
      doc.events["credit.released"].schema_versions[1].version = 1;
    });
    const problems = lintContracts({ registryPath });
    expect(problems.map((p) => [p.rule, p.where])).toEqual([
      ["id-matches-path", "contracts/credit-reservation-lock/schema/payloads/credit.funded-v1.json"],
      ["schema-compiles", "contracts/credit-reservation-lock/schema/payloads/credit.funded-v1.json"],
      ["domain", "credit.locked"],
      ["domain", "credit.locked"],
      ["versions", "credit.released"],
    ]);
    expect(problems[2]!.message).toBe('producer "operations" is not in the closed domain set');
    expect(problems[3]!.message).toBe('consumer "finance" is not a domain or platform-warehouse');
    expect(problems[1]!.message).toBe("schema is invalid: data/properties/funded_at/minimum must be number");
  });
});
