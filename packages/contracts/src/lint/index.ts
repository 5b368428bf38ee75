export { lintContracts, checkFixture, type LintOptions, type LintProblem } from "./lint-contracts.js";
