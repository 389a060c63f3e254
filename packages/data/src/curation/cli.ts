/** The curation commands as plain handlers `(argv, io?) => Promise<exit code>` (wired into runDataCli). */
export { cmdTag, TAG_USAGE } from './tag.js';
export { cmdDedupe, DEDUPE_USAGE } from './dedupe.js';
export { cmdMix, MIX_USAGE } from './mix.js';
export { cmdDecon, DECON_USAGE } from './decon.js';
