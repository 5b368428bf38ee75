import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { RegistryError, SchemaVersionError, UnknownEventTypeError } from "../errors/index.js";
import { bundledContractsRoot, registryPathIn } from "./contracts-root.js";
import type { Registration, RegistryDocument, SchemaVersionRegistration } from "./types.js";

/** A loaded event-type registry and the folder its payload_schema paths are relative to. */
export class Registry {
  constructor(
    readonly document: RegistryDocument,
    /** Folder that contains `contracts/`; payload_schema paths resolve against it. */
    readonly root: string,
  ) {}

  get eventTypes(): string[] {
    return Object.keys(this.document.events);
  }

  getRegistration(eventType: string): Registration {
    const registration = Object.hasOwn(this.document.events, eventType) ? this.document.events[eventType] : undefined;
    if (!registration) throw new UnknownEventTypeError(eventType);
    return registration;
  }

  /** The registered entry of one version; deprecated versions are returned, sunset ones refused. */
  getSchemaVersion(eventType: string, version: number): SchemaVersionRegistration & { payload_schema: string } {
    const entry = this.getRegistration(eventType).schema_versions.find((v) => v.version === version);
    if (!entry) throw new SchemaVersionError(eventType, version, "not_registered");
    if (entry.status === "sunset") throw new SchemaVersionError(eventType, version, "sunset");
    if (!entry.payload_schema) throw new SchemaVersionError(eventType, version, "no_payload_schema");
    return entry as SchemaVersionRegistration & { payload_schema: string };
  }

  /** The highest version whose status is active and whose active_from has passed at `at`. */
  resolveSchemaVersion(eventType: string, at: Date = new Date()): number {
    const day = at.toISOString().slice(0, 10);
    const candidates = this.getRegistration(eventType)
      .schema_versions.filter((v) => v.status === "active" && (v.active_from === undefined || v.active_from <= day))
      .map((v) => v.version);
    if (candidates.length === 0) throw new SchemaVersionError(eventType, undefined, "none_active");
    return Math.max(...candidates);
  }

  /** Absolute path of a registry-relative schema path. */
  resolvePath(relativePath: string): string {
    return resolve(this.root, relativePath);
  }

  readSchema(relativePath: string): Record<string, unknown> {
    return JSON.parse(readFileSync(this.resolvePath(relativePath), "utf8")) as Record<string, unknown>;
  }
}

let bundled: Registry | undefined;

/**
 * Loads the event-type registry. With no argument, the copy bundled in this package (resolved
 * from the installed module, never the cwd); with a path to an `event-types-registry.json`,
 * that file, its payload_schema paths resolved against the folder above its `contracts/`.
 */
export function loadRegistry(registryPath?: string): Registry {
  if (registryPath === undefined) {
    bundled ??= readRegistry(registryPathIn(bundledContractsRoot()));
    return bundled;
  }
  return readRegistry(resolve(registryPath));
}

function readRegistry(path: string): Registry {
  let document: RegistryDocument;
  try {
    document = JSON.parse(readFileSync(path, "utf8")) as RegistryDocument;
  } catch (cause) {
    throw new RegistryError(`cannot read the event-type registry at ${path}`, { cause });
  }
  if (typeof document !== "object" || document === null || typeof document.events !== "object") {
    throw new RegistryError(`${path} has no "events" object`);
  }
  return new Registry(document, join(dirname(path), ".."));
}

export function getRegistration(eventType: string): Registration {
  return loadRegistry().getRegistration(eventType);
}

export function resolveSchemaVersion(eventType: string, at?: Date): number {
  return loadRegistry().resolveSchemaVersion(eventType, at);
}
