import { startTestPostgres, type StartTestPostgresOptions } from "./postgres-server.js";
import { ADMIN_URL_ENV } from "./test-database.js";

export { startTestPostgres, type TestPostgres, type StartTestPostgresOptions } from "./postgres-server.js";
export {
  startEmbeddedPostgres,
  EmbeddedPostgresError,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
  type EmbeddedPostgresErrorCode,
} from "../embedded/index.js";
export { createTestDatabase, ADMIN_URL_ENV, type TestDatabase, type CreateTestDatabaseOptions } from "./test-database.js";

/**
 * For a vitest `globalSetup` file: starts one server for the whole run, exposes its admin URL
 * to every test file through SGUILD_TEST_ADMIN_URL, and returns the teardown.
 *   export default () => setupTestPostgres();
 */
export async function setupTestPostgres(options?: StartTestPostgresOptions): Promise<() => Promise<void>> {
  const server = await startTestPostgres(options);
  process.env[ADMIN_URL_ENV] = server.adminUrl;
  return () => server.stop();
}
