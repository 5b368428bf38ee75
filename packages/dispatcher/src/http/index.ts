export { createDeadLetterRoutes, type DeadLetterRoutesOptions, type AuthorizationResult } from "./dead-letter-routes.js";
export { toNodeHandler } from "./node-handler.js";
