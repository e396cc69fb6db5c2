/** Where a node sits in its source file, 1-based. Example: `{ file: 'runbook.yml', line: 3, col: 11 }`. */
export interface Loc {
  file: string;
  line: number;
  col: number;
}
