/** The exit codes, documented once (printed by `cutover docs` and `--help`). */
export const EXIT_CODES_DOC = `## Exit codes

| code | meaning |
| --- | --- |
| 0 | success |
| 1 | the run failed (a step failed; its host was put back by the saga) or a rollback was incomplete |
| 2 | invalid input: runbook, inventory, params or command line (nothing was changed) |
| 3 | the cluster is locked by another run |
| 4 | preflight failed, or a host was unreachable (nothing was changed) |
| 5 | the plan changed since the run started (resume/rollback refused) |
| 6 | aborted by the operator |
| 7 | the shared state (--state postgres://…) could not be reached at start, or its schema is not this version's (nothing was run) |
| 70 | a bug in cutover: please report it with the output |
`;
