/**
 * What the scanner knows about programs, decided from the safe side: a template value may be an
 * argument only of a program listed here as keeping its arguments data (it never hands them to a
 * shell or an interpreter), or of a program the runbook author names in `safe_programs:`. Every
 * other program — anything that may re-parse an argument (`flock -c`, `watch`, `xargs`, `find
 * -exec`, `ssh`, `su`, `runuser`, `chroot`, `script -c`, `tmux`, `screen`, `sudo -s`, awk, sed,
 * an interpreter's `-c`/`-e`) or a program cutover has never heard of — refuses the value.
 */

/** Programs (and shell builtins) that treat every argument as data: never run it, never pass it to a shell. */
export const DATA_PROGRAMS: ReadonlySet<string> = new Set([
  // files
  'cp',
  'mv',
  'rm',
  'rmdir',
  'mkdir',
  'ln',
  'chmod',
  'chown',
  'chgrp',
  'touch',
  'cat',
  'head',
  'tail',
  'tee',
  'ls',
  'stat',
  'du',
  'df',
  'readlink',
  'realpath',
  'basename',
  'dirname',
  'install',
  'truncate',
  'wc',
  'sort',
  'uniq',
  'cut',
  'tr',
  'diff',
  'cmp',
  'sha256sum',
  'sha1sum',
  'md5sum',
  'base64',
  'file',
  'tar',
  'gzip',
  'gunzip',
  'zcat',
  'unzip',
  'zip',
  'rsync',
  'grep',
  'egrep',
  'fgrep',
  'jq',
  // network
  'curl',
  'wget',
  'ping',
  'nc',
  // services and processes
  'systemctl',
  'service',
  'journalctl',
  'kill',
  'pkill',
  'pgrep',
  'pidof',
  'ps',
  'sleep',
  'id',
  'useradd',
  'usermod',
  'groupadd',
  'date',
  'nginx',
  // shell builtins and keywords whose arguments are data
  'echo',
  'printf',
  'test',
  '[',
  'cd',
  'export',
  'local',
  'readonly',
  'read',
  'exit',
  'return',
  'shift',
  'true',
  'false',
  ':',
  'for',
  'case',
  'in',
]);

/**
 * Programs that run the rest of their arguments as another program's argv (no shell): the scanner
 * looks through them to that program. Each lists its options that take a value, and whether it
 * then takes one operand before the program (`timeout DURATION`).
 */
export const WRAPPERS: ReadonlyMap<string, { withValue: ReadonlySet<string>; operands: number }> = new Map([
  ['nohup', { withValue: new Set<string>(), operands: 0 }],
  ['exec', { withValue: new Set<string>(['-a']), operands: 0 }],
  ['command', { withValue: new Set<string>(), operands: 0 }],
  ['nice', { withValue: new Set(['-n', '--adjustment']), operands: 0 }],
  ['ionice', { withValue: new Set(['-c', '-n', '-p']), operands: 0 }],
  ['setsid', { withValue: new Set<string>(), operands: 0 }],
  ['stdbuf', { withValue: new Set(['-i', '-o', '-e']), operands: 0 }],
  ['timeout', { withValue: new Set(['-s', '-k', '--signal', '--kill-after']), operands: 1 }],
  // env -S splits a string into words: it is not a wrapper then (see reparses below).
  ['env', { withValue: new Set(['-u', '--unset', '-C', '--chdir']), operands: 0 }],
  // sudo runs argv directly, except with -s/-i (a shell): see reparses below.
  ['sudo', { withValue: new Set(['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T']), operands: 0 }],
]);

/** Shells: a value may be a positional argument after the script (`sh -c 'echo "$1"' _ V`, `bash up.sh V`), never the script. */
export const SHELLS: ReadonlySet<string> = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'ash',
  'mksh',
  'busybox',
]);

/** Interpreters and the flag that takes a program text; like shells, later arguments are the program's argv. */
export const INTERPRETERS: ReadonlyMap<string, RegExp> = new Map([
  ['python', /^-[A-Za-z]*c$/],
  ['python3', /^-[A-Za-z]*c$/],
  ['python2', /^-[A-Za-z]*c$/],
  ['perl', /^-[A-Za-z]*[eE]$/],
  ['ruby', /^-[A-Za-z]*e$/],
  ['node', /^(-[A-Za-z]*[ep]|--eval|--print)$/],
  ['php', /^-[A-Za-z]*r$/],
  ['lua', /^-[A-Za-z]*e$/],
]);

/** Programs that read stdin as data only (never as code): a value may flow into them through a pipe or `<<<`. */
export const STDIN_DATA_PROGRAMS: ReadonlySet<string> = new Set([
  'cat',
  'head',
  'tail',
  'tee',
  'wc',
  'sort',
  'uniq',
  'cut',
  'tr',
  'grep',
  'egrep',
  'fgrep',
  'sha256sum',
  'sha1sum',
  'md5sum',
  'base64',
  'jq',
  'gzip',
  'gunzip',
  'zcat',
  'tar',
  'diff',
  'cmp',
  'read',
  'true',
  'false',
  ':',
]);

/** Programs whose name says "a second shell parses this": the refusal names the usual way out. */
export const RESHELL: ReadonlySet<string> = new Set([
  ...SHELLS,
  ...INTERPRETERS.keys(),
  'eval',
  'ssh',
  'su',
  'runuser',
  'flock',
  'watch',
  'xargs',
  'find',
  'chroot',
  'script',
  'tmux',
  'screen',
  'source',
  '.',
  'trap',
  'parallel',
  'at',
  'batch',
  'crontab',
]);

/** Options of data programs whose value is a command after all (`tar -I CMD`, `rsync -e CMD`): a value there is refused. */
export const COMMAND_OPTIONS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  [
    'tar',
    new Set([
      '-I',
      '-F',
      '--use-compress-program',
      '--to-command',
      '--checkpoint-action',
      '--info-script',
      '--new-volume-script',
      '--rsh-command',
    ]),
  ],
  ['rsync', new Set(['-e', '--rsh', '--rsync-path'])],
  ['curl', new Set(['-K', '--config'])],
  ['wget', new Set(['-e', '--execute', '--use-askpass'])],
  ['zip', new Set(['-TT', '--unzip-command'])],
]);

/** Keywords that start a command without being its program: `if cp …`, `! grep …`, `do rm …`. */
export const PREFIX_KEYWORDS: ReadonlySet<string> = new Set([
  'if',
  'then',
  'else',
  'elif',
  'while',
  'until',
  'do',
  '!',
  '{',
  'time',
]);
