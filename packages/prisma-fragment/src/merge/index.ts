export { mergeFragment, FragmentConflictError, type MergeFragmentOptions, type MergeFragmentResult } from "./merge-fragment.js";
export { parseModels, type PrismaModel } from "./prisma-models.js";
