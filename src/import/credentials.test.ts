/**
 * Credentials written in a runbook never reach the draft, its step ids, its TODOs or the report
 * (issue 13): each becomes a declared secret the command reads from the environment.
 */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { importMarkdown } from './import.js';
import { reportJson, reportText } from './report.js';

/** One command per credential form; the value is unique so a leak anywhere is found. */
const FORMS: [string, string][] = [
  ['mysqldump -uroot -pMySqlDump1 shop > /backup/shop.sql', 'MySqlDump1'],
  ['mysqladmin -u root -pMySqlAdm2 flush-hosts', 'MySqlAdm2'],
  ['mysql -h db1 -u app -p"MySqlQ3" shop < fix.sql', 'MySqlQ3'],
  ['redis-cli -a R3disPw4 FLUSHALL', 'R3disPw4'],
  ['redis-cli -h cache1 --pass R3disPw5 INFO', 'R3disPw5'],
  ['docker login -u ci -p D0ckerPw6 registry.example.com', 'D0ckerPw6'],
  ['helm registry login -u ci -p H3lmPw7 charts.example.com', 'H3lmPw7'],
  ['DB_PASSWORD=M1gratePw8 /opt/app/bin/migrate', 'M1gratePw8'],
  ['PGPASSWORD=PgPass9 psql -h db1 -U app -c "select 1"', 'PgPass9'],
  ['API_KEY=K3yValue10 /opt/app/bin/notify', 'K3yValue10'],
  ['AWS_SECRET_ACCESS_KEY=AwsS3cret11 aws s3 cp /backup/x s3://b/', 'AwsS3cret11'],
  ['GITHUB_TOKEN=ghToken12 ./release.sh', 'ghToken12'],
  ['curl -H "X-Api-Key: ApiK3y13" https://api.example.com/deploy', 'ApiK3y13'],
  ['curl -H "Private-Token: GlTok14" https://git.example.com/api/v4/projects', 'GlTok14'],
  ['curl -H "Authorization: Bearer B3arer15" https://api.example.com/', 'B3arer15'],
  ['curl -u ci:CurlPw16 https://nexus.example.com/repo/app.tar -o /tmp/app.tar', 'CurlPw16'],
  ['wget --password=WgetPw17 --user=ci https://nexus.example.com/app.tar', 'WgetPw17'],
  ['git clone https://ci:UrlPw18@git.example.com/app.git /opt/app', 'UrlPw18'],
  ['sshpass -p SshPw19 ssh app@10.0.0.5 uptime', 'SshPw19'],
];

function document(): string {
  const lines = ['# Upgrade', '', '1. Run these, in order:', '', '   ```'];
  for (const [command] of FORMS) lines.push(`   ${command}`);
  lines.push('   ```', '');
  return lines.join('\n');
}

describe('import: credentials written in the document', () => {
  const result = importMarkdown(document(), 'creds.md');
  const everything = [
    result.yaml,
    reportText(result),
    JSON.stringify(reportJson(result)),
    JSON.stringify(result.phases),
    JSON.stringify(result.commands),
  ].join('\n');

  it.each(FORMS)('%s: the value is nowhere in the draft, ids, TODOs or report', (_command, value) => {
    expect(everything).not.toContain(value);
    expect(everything.toLowerCase()).not.toContain(value.toLowerCase());
  });

  it('declares a secret for each (one for the two downloads of ci at nexus), and the draft still loads', () => {
    expect(result.secrets.length).toBe(FORMS.length - 1);
    expect(result.secrets.filter((s) => s.name === 'nexus_password')).toHaveLength(1);
    const loaded = parseRunbook(result.yaml, 'creds.yml');
    expect(Object.keys(loaded.runbook?.secrets ?? {})).toHaveLength(FORMS.length - 1);
  });

  it('leaves alone what only names a secret, and a bare -p that prompts', () => {
    const r = importMarkdown(
      '# x\n\n```\nmysql -p shop < fix.sql\nDB_PASSWORD=$DB_PASSWORD /opt/app/bin/migrate\ncurl -u ci:<password> https://x/\n```\n',
      'refs.md',
    );
    expect(r.secrets).toEqual([]);
  });
});
