import { describe, expect, it } from 'vitest';
import { commandLines } from './commands.js';
import { type Block, parseBlocks, sectionMode, sections } from './markdown.js';
import {
  conditionOf,
  isElsewhereTitle,
  pollOf,
  saysElsewhere,
  asksToVerify,
  editedConfig,
  folderOf,
  hostNames,
  isRollbackTitle,
  nginxLocations,
  repeatDirective,
  saysAllHosts,
  uploadOf,
  waitMessage,
} from './prose.js';
import { parseYaml } from './yaml-sample.js';

const code = (blocks: Block[]) =>
  blocks.filter((b): b is Extract<Block, { type: 'code' }> => b.type === 'code');
const codes = (...values: string[]) => values.map((value) => ({ line: 1, value }));

describe('markdown blocks and sections', () => {
  it('numbered items make sections when no heading has code, including a "7." line inside a paragraph', () => {
    const text = [
      'Intro `10.0.0.1`',
      '',
      '0. Back up first.',
      '1. Fetch it',
      '```sh',
      'wget https://h/x.tgz',
      '```',
      '',
      '6. Edit the config.',
      'Some text',
      '7. repeat item 1',
      'after that',
    ].join('\n');
    const blocks = parseBlocks(text);
    expect(sectionMode(blocks)).toBe('items');
    const parts = sections(blocks);
    expect(parts.map((s) => [s.number, s.line, s.title])).toEqual([
      [undefined, 0, ''],
      ['0', 3, 'Back up first.'],
      ['1', 4, 'Fetch it'],
      ['6', 9, 'Edit the config.'],
      ['7', 11, 'repeat item 1'],
    ]);
    expect(parts[4]?.blocks).toMatchObject([
      { type: 'prose', line: 11, lines: [{ line: 11 }, { line: 12 }] },
    ]);
  });

  it('headings make sections when code sits under them; numbers like 3.正确验证 and 2.1 are read', () => {
    const text = '## 2.1 ecsc服务\n\n```\nls\n```\n\n## 3.正确验证\n\n* ok\n';
    const parts = sections(parseBlocks(text));
    expect(parts.map((s) => [s.number, s.title, s.depth])).toEqual([
      [undefined, '', 0],
      ['2.1', 'ecsc服务', 2],
      ['3', '正确验证', 2],
    ]);
  });

  it('code blocks keep their line numbers: fenced inside list items, and indented', () => {
    const text = '# T\n\n1. Step\n\n   ```sh\n   a\n   b\n   ```\n\nText:\n\n    c\n    d\n';
    expect(code(parseBlocks(text)).map((b) => [b.fenced, b.lines])).toEqual([
      [
        true,
        [
          { line: 6, text: 'a' },
          { line: 7, text: 'b' },
        ],
      ],
      [
        false,
        [
          { line: 12, text: 'c' },
          { line: 13, text: 'd' },
        ],
      ],
    ]);
  });
});

describe('the counting rule', () => {
  const lines = (text: string) => code(parseBlocks(text)).flatMap((b) => commandLines(b));

  it('skips blanks, comments, output samples and non-shell blocks; keeps comments as notes', () => {
    const text =
      '```sh\n## Deb\nnano /a\n\n... INFO started ...\n2024-05-02 10:11 WARN x\n```\n\n```yml\na: 1\n```\n';
    expect(lines(text)).toEqual([{ line: 3, text: 'nano /a', notes: ['## Deb'] }]);
  });

  it('joins continuations and reads console blocks by their prompts', () => {
    const text = '```console\n$ curl -o /x \\\n    https://h/x\noutput line\n$ ls\n```\n';
    expect(lines(text).map((l) => [l.line, l.text])).toEqual([
      [2, 'curl -o /x https://h/x'],
      [5, 'ls'],
    ]);
  });
});

describe('prose recognisers', () => {
  it('reads repeat directives in Russian, Chinese and English', () => {
    expect(repeatDirective('7. выполнить последоватьельность из П.5', [])).toEqual({ ref: '5', hosts: [] });
    expect(repeatDirective('启动完毕之后，登录`ecsc-2`，重复以上步骤：', codes('ecsc-2'))).toEqual({
      hosts: ['ecsc-2'],
    });
    expect(repeatDirective('Repeat section 3 on `es-2`, then on `es-3`.', codes('es-2', 'es-3'))).toEqual({
      ref: '3',
      hosts: ['es-2', 'es-3'],
    });
    expect(repeatDirective('Повторить шаги 2 на `app-2`', codes('app-2'))).toEqual({
      ref: '2',
      hosts: ['app-2'],
    });
    expect(repeatDirective('Stop the node', [])).toBeUndefined();
  });

  it('reads conditions, polls and other environments in the text before a block', () => {
    expect(conditionOf('2. If it is still running after 60 s, kill it:')).toBe(
      'If it is still running after 60 s, kill it:',
    );
    expect(conditionOf('Если через 60 секунд процесс всё ещё жив — убить его:')).toBeDefined();
    expect(conditionOf('如果 30 秒后进程仍在，执行：')).toBeDefined();
    expect(conditionOf('Stop the broker, then check it:')).toBeUndefined();
    expect(conditionOf('4. На каждом узле проверить, и, при необходимости отредактировать')).toBeUndefined();
    expect(pollOf('Re-run this every 30 s until it prints nothing')).toEqual({
      delaySeconds: 30,
      expect: { empty: true },
      text: 'Re-run this every 30 s until it prints nothing',
    });
    expect(pollOf('Повторять каждые 2 минуты, пока не выведет 0')).toMatchObject({
      delaySeconds: 120,
      expect: { equals: '0' },
    });
    expect(pollOf('Wait until the node answers `imok`:')).toMatchObject({
      delaySeconds: 5,
      expect: { contains: 'imok' },
    });
    expect(pollOf('Wait until the health check answers:')).toBeUndefined();
    expect(pollOf('Wait until `Started` appears in the log:')).toBeUndefined();
    expect(saysElsewhere('On staging it is simply:')).toBe(true);
    expect(saysElsewhere('On `web-1`:')).toBe(false);
    expect(isElsewhereTitle('Staging (Kubernetes)')).toBe(true);
    expect(isElsewhereTitle('Restart the leader')).toBe(false);
    // A stage of the procedure, or a stand that may be production, is no other environment.
    expect(isElsewhereTitle('Stage 1: prepare the nodes')).toBe(false);
    expect(isElsewhereTitle('Обновление на промышленном стенде')).toBe(false);
    expect(isElsewhereTitle('На тестовом стенде')).toBe(true);
    expect(isElsewhereTitle('Для Docker-установки')).toBe(true);
    expect(conditionOf('Should the node fail to start, restore it:')).toBeDefined();
    expect(conditionOf('Should take about five minutes:')).toBeUndefined();
  });

  it('reads hosts, "every node", verifications, rollbacks, uploads, folders, edits and locations', () => {
    expect(hostNames(codes('ecsc-1', 'ecsc.tar', '/home', '10.0.0.12', 'schedule-res-2'))).toEqual([
      'ecsc-1',
      '10.0.0.12',
      'schedule-res-2',
    ]);
    expect(saysAllHosts('3. На каждом узле перейти в директорию')).toBe(true);
    expect(saysAllHosts('Run this on every node')).toBe(true);
    expect(saysAllHosts('На резервном узле остановить')).toBe(false);
    expect(asksToVerify('Убедиться в работоспособности узла')).toBe(true);
    expect(asksToVerify('8. Make sure the cluster is green')).toBe(true);
    expect(asksToVerify('Проверить статус сервисов')).toBe(false);
    expect(isRollbackTitle('4.回滚')).toBe(true);
    expect(isRollbackTitle('Откат')).toBe(true);
    expect(uploadOf('登录`ecsc-1`，上传`ecsc.tar`文件到`/home`目录下')).toEqual({
      file: 'ecsc.tar',
      dir: '/home',
    });
    expect(uploadOf('Upload `app.jar` to `/opt/app`')).toEqual({ file: 'app.jar', dir: '/opt/app' });
    expect(folderOf(codes('/home', 'ecsc.tar'))).toBe('/home');
    expect(folderOf(codes('/home', '/opt'))).toBeUndefined();
    expect(editedConfig('Edit `/etc/app/app.yml` and set the flag', codes('/etc/app/app.yml'))).toBe(
      '/etc/app/app.yml',
    );
    expect(nginxLocations(codes('location /async', 'location /', 'location ~ \\.php$'))).toEqual([
      '/async',
      '/',
      '\\.php$',
    ]);
  });

  it('finds the message a "wait for" line quotes', () => {
    const line = {
      line: 76,
      text: 'дождаться  в выводе лога сообщения об ожидании удаления файла `db.workDir/hold.lock`',
    };
    expect(waitMessage(line, [{ line: 76, value: 'db.workDir/hold.lock' }])).toEqual({
      text: 'db.workDir/hold.lock',
      line: 76,
    });
    expect(waitMessage({ line: 3, text: 'Wait until it prints “Ready to serve”' }, [])).toEqual({
      text: 'Ready to serve',
      line: 3,
    });
    expect(
      waitMessage({ line: 3, text: 'переключиться на вывод лога `igniteClient`' }, codes('igniteClient')),
    ).toBe(undefined);
  });

  it('reads YAML samples into keys to set and delete', () => {
    expect(parseYaml('# first\na: 1\nb:\n# for c\nc: "x"\n')).toEqual([
      { key: 'a', value: 1, comment: 'first' },
      { key: 'b', value: null },
      { key: 'c', value: 'x', comment: 'for c' },
    ]);
    expect(parseYaml('- a\n- b\n')).toEqual([]);
  });
});
