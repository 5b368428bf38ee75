import { setupTestPostgres } from "@sguild/prisma-fragment/testing";

export default () => setupTestPostgres();
