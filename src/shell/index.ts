export {
  all,
  and,
  Command,
  forIn,
  ifChain,
  ifThen,
  indent,
  lines,
  or,
  output,
  pipe,
  raw,
  script,
  seq,
  sh,
  shc,
  subshell,
  whileDo,
} from './command.js';
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
