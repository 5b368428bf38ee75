export { startEmbeddedPostgres, portIsFree, type EmbeddedPostgres, type EmbeddedPostgresOptions } from "./server.js";
export { EmbeddedPostgresError, type EmbeddedPostgresErrorCode } from "./errors.js";
export { INSTALL_COMMAND } from "./locate.js";
