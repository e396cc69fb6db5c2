/**
 * Literal passwords that documents sometimes hold (`--password=...`, `-u user:pass`,
 * `https://user:pass@host`, `DB_PASSWORD=...`, `Authorization: Bearer ...`). The draft and the
 * report never copy them: recognisers use a declared secret instead, and every echo of a
 * command goes through `redactCommand`.
 */

/** A literal secret in a command line. Example: in `curl -u ci:hunter2 URL` -> `{ value: 'hunter2', start: 9, end: 16 }`. */
export interface SecretSpan {
  value: string;
  start: number;
  end: number;
}

const VALUE = `('[^']*'|"[^"]*"|[^\\s'"]+)`;
const PATTERNS: RegExp[] = [
  new RegExp(`--(?:http-|ftp-|proxy-)?pass(?:word)?[= ]${VALUE}`, 'g'),
  new RegExp(`(?:^|\\s)(?:-u|--user|--proxy-user)[= ]?(?:'|")?[^\\s:'"]+:${VALUE}`, 'g'),
  /:\/\/[^\s/:@]+:([^\s/@]+)@/g,
  new RegExp(
    `\\b[A-Za-z_]*(?:PASS|PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|ACCESS_?KEY|AUTH_?KEY)[A-Za-z_]*=${VALUE}`,
    'gi',
  ),
  /Authorization:\s*(?:Basic|Bearer|Token)\s+([^\s'"]+)/gi,
  // API key headers: X-Api-Key, X-Auth-Token, Api-Key, Private-Token.
  /\b(?:X-)?(?:Api|Auth|Access|Private)[-_](?:Key|Token):\s*([^\s'"]+)/gi,
  new RegExp(`\\bsshpass\\s+-p\\s*${VALUE}`, 'g'),
  // mysql, mysqldump, mysqladmin: the password glued to -p (a bare -p prompts, and is not one).
  new RegExp(`\\bmysql(?:dump|admin|import|check)?\\b[^|;&\\n]*?\\s-p${VALUE}`, 'g'),
  new RegExp(`\\bredis-cli\\b[^|;&\\n]*?\\s(?:-a|--pass)\\s+${VALUE}`, 'g'),
  new RegExp(`\\b(?:docker|podman|helm)\\s+(?:registry\\s+)?login\\b[^|;&\\n]*?\\s-p\\s*${VALUE}`, 'g'),
];

/** Values that only name a secret (a placeholder or a variable) are not secrets themselves. */
function isReference(value: string): boolean {
  const v = value.replace(/^['"]|['"]$/g, '');
  return v === '' || /^<[^<>]+>$/.test(v) || /^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(v);
}

/** Every literal secret in a line, left to right. Example: findSecrets('wget --password=s3cret URL')[0].value -> 's3cret'. */
export function findSecrets(text: string): SecretSpan[] {
  const spans: SecretSpan[] = [];
  for (const pattern of PATTERNS) {
    for (const m of text.matchAll(pattern)) {
      const group = m[1];
      if (group === undefined || isReference(group)) continue;
      const start = (m.index ?? 0) + m[0].lastIndexOf(group);
      const quoted = /^['"]/.test(group);
      const value = quoted ? group.slice(1, -1) : group;
      const valueStart = quoted ? start + 1 : start;
      spans.push({ value, start: valueStart, end: valueStart + value.length });
    }
  }
  return spans
    .sort((a, b) => a.start - b.start)
    .filter((s, i, all) => i === 0 || s.start >= (all[i - 1] as SecretSpan).end);
}

/** The line with every literal secret replaced by `***`. Example: `curl -u ci:hunter2 URL` -> `curl -u ci:*** URL`. */
export function redactCommand(text: string): string {
  let out = text;
  for (const span of findSecrets(text).reverse())
    out = out.slice(0, span.start) + '***' + out.slice(span.end);
  return out;
}
