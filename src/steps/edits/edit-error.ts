/**
 * A pure file edit could not be applied: the file is not what the runbook expects (missing
 * key or location, unparsable text) or the request is invalid. Nothing was written; the engine
 * adds the host and file path. Example:
 * `new EditError('nginx location "/async": not found ...', { editor: 'nginx', target: '/async', line: 3, col: 5 })`.
 */
export class EditError extends Error {
  constructor(
    message: string,
    readonly detail: {
      editor: 'yaml' | 'nginx' | 'text';
      /** The YAML key path, nginx location, text pattern, key or XML element the edit was about. */
      target?: string;
      /** 1-based position in the file the problem is at, when there is one. */
      line?: number;
      col?: number;
    },
  ) {
    super(message);
    this.name = 'EditError';
  }
}
