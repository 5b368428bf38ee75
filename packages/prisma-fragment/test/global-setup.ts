import { setupTestPostgres } from "../src/testing/index.js";

export default () => setupTestPostgres();
