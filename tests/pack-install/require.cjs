const dispatcher = require("@sguild/dispatcher");
const contracts = require("@sguild/contracts");
const fragment = require("@sguild/prisma-fragment");
const testing = require("@sguild/dispatcher/testing");
console.log(
  JSON.stringify({
    configureDispatcher: typeof dispatcher.configureDispatcher,
    publish: typeof dispatcher.dispatcher.publish,
    creditReleased: contracts.resolveSchemaVersion("credit.released"),
    migrations: fragment.dispatcherMigrations().map((m) => m.name),
    createTestDatabase: typeof testing.createTestDatabase,
    resolved: [require.resolve("@sguild/dispatcher"), require.resolve("@sguild/contracts"), require.resolve("@sguild/prisma-fragment")],
  }),
);
