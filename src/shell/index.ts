export { and, Command, pipe, raw, script, seq, sh, shc } from './command.js';
export { quote, type RenderMode } from './quote.js';
export { Redactor, Secret } from './secret.js';
export {
  concat,
  Expanded,
  type HostDate,
  isHostDate,
  isStatic,
  type Part,
  partsOf,
  staticValue,
  TemplatedWord,
  type Word,
} from './word.js';
