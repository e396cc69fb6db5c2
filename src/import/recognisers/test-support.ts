/** For recogniser tests only: a context for line 7 with nothing around it. Example: `recognise(cmd, recogniseContext())`. */
import { Templater } from '../placeholders.js';
import type { RecogniseContext } from './index.js';

export function recogniseContext(extra: Partial<RecogniseContext> = {}): RecogniseContext {
  return {
    line: 7,
    templater: new Templater(),
    message: () => undefined,
    yamlSamples: () => [],
    locations: [],
    namedFiles: [],
    inRollback: false,
    backups: [],
    ...extra,
  };
}
