export { newId, isId, ID_PREFIXES, UnknownIdPrefixError, type IdPrefix, type PrefixedId } from "./new-id.js";
