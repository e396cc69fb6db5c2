/**
 * Recognisers for the prose around the commands, in English, Russian and Chinese: which hosts a
 * section runs on, "repeat on host -2" / "выполнить последовательность из П.5" / "重复以上步骤",
 * the message a log wait is for, an upload, a verification, the folder a command runs in.
 * Pure functions over text; the phrase lists are deliberately small and listed here.
 */
import { isHostLike } from './hosts.js';
import type { InlineCode } from './markdown.js';

/** A host name as runbooks write them (`ecsc-1`, `schedule-res-2`, `es-3`, `app01`) or an IPv4 address. Example: isHostName('ecsc-1') -> true. */
export function isHostName(text: string): boolean {
  return isHostLike(text);
}

/** Host names among inline code spans (host-like, or among `known`), in order, without repeats. Example: [`ecsc-1`, `ecsc.tar`] -> ['ecsc-1']. */
export function hostNames(codes: readonly InlineCode[], known: readonly string[] = []): string[] {
  return [...new Set(codes.map((c) => c.value.trim()).filter((v) => isHostName(v) || known.includes(v)))];
}

const ALL_HOSTS =
  /\b(?:each|every|all)\s+(?:of\s+the\s+)?(?:nodes?|hosts?|servers?|machines?)\b|на\s+(?:каждом|всех)\s+(?:узл|сервер|хост)|каждом\s+узле|每个节点|所有节点|每台/i;

/** True when the text says "on every node". Example: 'На каждом узле перейти ...' -> true. */
export function saysAllHosts(text: string): boolean {
  return ALL_HOSTS.test(text);
}

/** A repeat directive: run an earlier section (or the steps above) again on more hosts. Example: `{ ref: '5', hosts: [] }` for "выполнить последовательность из П.5". */
export interface RepeatDirective {
  /** The section number referred to; undefined for "the steps above". */
  ref?: string;
  /** The last section of a range ("steps 2–6" -> ref '2', to '6'). */
  to?: string;
  hosts: string[];
}

const REPEAT = /\brepeat\b|повтор|выполнить\s+последоват\S*|重复|再次执行/i;
const REFERENCE =
  /(?<!\p{L})(?:п\.?|пункт\p{L}*|шаг\p{L}*|sections?|steps?|items?)\s*(?:(?:с|from)\s+)?(\d+(?:\.\d+)*)(?:\s*(?:[-–—~]|to|through|до|по)\s*(\d+))?|第\s*(\d+(?:\.\d+)*)(?:\s*(?:[-–—~]|至|到)\s*(\d+))?/iu;

/** Reads a repeat directive from a prose line. Example: repeatDirective('Repeat section 3 on `es-2`', codes) -> { ref: '3', hosts: ['es-2'] }. */
export function repeatDirective(text: string, codes: readonly InlineCode[]): RepeatDirective | undefined {
  // "Re-run every 30 s" / "Повторять каждые 30 секунд" is a poll, not a repeat of steps.
  if (!REPEAT.test(text) || EVERY.test(text)) return undefined;
  const m = REFERENCE.exec(text);
  const ref = m?.[1] ?? m?.[3];
  const to = m?.[2] ?? m?.[4];
  return {
    ...(ref !== undefined ? { ref } : {}),
    ...(to !== undefined && to !== ref ? { to } : {}),
    hosts: hostNames(codes),
  };
}

const VERIFY_START =
  /^\s*(?:\d+\.\s*)?(?:[-*]\s*)?(?:verify|make sure|ensure|check that|check the|watch the|look at the|confirm|убедиться|убедитесь|проверить\s+работоспособность|проверить\s+дашборд|проверьте|确认|验证|检查|观察)/i;

/** True for a line asking a person to verify something. Example: 'Убедиться в работоспособности узла' -> true. */
export function asksToVerify(text: string): boolean {
  return VERIFY_START.test(text);
}

const EXPECTS =
  /\b(?:must|should)\s+(?:be|say|show|print|contain|read|return|answer)\b|(?:^|\s)должн\S*\s+(?:быть|показ\S*|содерж\S*)|应(?:为|该是|显示|包含)|必须(?:为|是|包含)/i;

/** True for a line that says what a command's output must be ("All members must be running"). Example: 'The lag must be 0.' -> true. */
export function statesExpectation(text: string): boolean {
  return EXPECTS.test(text) && conditionOf(text) === undefined;
}

const WAIT_START_LINE = /^\s*(?:\d+\.\s*)?(?:[-*]\s*)?(?:wait\s+(?:until|for|till)|дожд|подожд|等待|等到)/i;

/** True for a line asking a person to wait for something. Example: 'Wait until `patronictl list` shows pg-02 as the Leader.' -> true. */
export function asksToWait(text: string): boolean {
  return WAIT_START_LINE.test(text);
}

const VERIFY_TITLE = /verif|validat|smoke|check|验证|检查|провер/i;

/** True for a section title about verification. Example: '正确验证' -> true. */
export function isVerificationTitle(title: string): boolean {
  return VERIFY_TITLE.test(title);
}

const ROLLBACK_TITLE = /roll\s*-?back|revert|回滚|回退|откат/i;

/** True for a section title about rolling back. Example: '回滚' -> true. */
export function isRollbackTitle(title: string): boolean {
  return ROLLBACK_TITLE.test(title);
}

const WAIT_WORDS = /\bwait|\buntil\b|\blook for\b|\bappears?\b|дожд|ожидай|等待|直到|出现/i;

/** The message a line of prose says to wait for. Example: { text: 'Wait for `started`' } -> { text: 'started', line }. */
export interface ProseMessage {
  text: string;
  line: number;
}

/** The quoted message in a "wait for ..." line: its first inline code, or text in “”, «», "", 「」. Example: 'дождаться сообщения `hold.lock`' -> 'hold.lock'. */
export function waitMessage(
  line: { line: number; text: string },
  codes: readonly InlineCode[],
): ProseMessage | undefined {
  if (!WAIT_WORDS.test(line.text)) return undefined;
  const code = codes.find((c) => c.line === line.line);
  if (code) return { text: code.value, line: line.line };
  const quoted = /“([^”]+)”|«([^»]+)»|"([^"]+)"|「([^」]+)」/.exec(line.text);
  const text = quoted?.slice(1).find((g) => g !== undefined);
  return text ? { text, line: line.line } : undefined;
}

/** True when a message names a file or key rather than quoting a log line. Example: 'db.workDir/hold.lock' -> true. */
export function namesAThing(message: string): boolean {
  return !/\s/.test(message) && (/\//.test(message) || /\.[A-Za-z]{1,5}$/.test(message));
}

const UPLOAD =
  /(?:upload|copy|scp|上传|拷贝|загрузить|скопировать)(?:\s+[^\s`]+){0,2}?\s*`([^`/\s]+)`[^`]*?(?:\bto\b|\binto\b|到|в|на)\s*`(\/[^`]*)`/i;

/** "upload `ecsc.tar` to `/home`". Example: uploadOf('上传`ecsc.tar`文件到`/home`目录下') -> { file: 'ecsc.tar', dir: '/home' }. */
export function uploadOf(text: string): { file: string; dir: string } | undefined {
  const m = UPLOAD.exec(text);
  return m ? { file: m[1] as string, dir: m[2] as string } : undefined;
}

/** The folder a paragraph names for the commands after it: its only inline code that is an absolute path without an extension. Example: '在`/home`目录下解压`ecsc.tar`' -> '/home'. */
export function folderOf(codes: readonly InlineCode[], text = ''): string | undefined {
  // "Edit /etc/shop/application.properties": a file to change, never the folder of the commands after it.
  if (EDIT.test(text)) return undefined;
  const dirs = codes
    .map((c) => c.value.trim())
    .filter(
      (v) => v.startsWith('/') && !/\s/.test(v) && !/\.[A-Za-z0-9]{1,5}$/.test(v) && !FILE_EXTENSION.test(v),
    );
  return dirs.length === 1 ? dirs[0] : undefined;
}

/** Extensions of files runbooks name (longer than the 5 letters a folder test allows for). */
const FILE_EXTENSION = /\.(?:properties|service|socket|timer|conf|config|json|toml)$/i;

const EDIT = /\b(?:edit|change|modify|update)\b|измени|отредакт|修改|编辑/i;
/** "Set `k=v` in `/etc/x.properties`": an edit too, for a named file (never "set up"). */
const SET = /\bset\b(?!\s+up\b)|установи|设置/i;

/** A config file a line says to edit: an absolute YAML or nginx path in inline code. Example: 'Edit `/etc/app/app.yml`' -> '/etc/app/app.yml'. */
export function editedConfig(text: string, codes: readonly InlineCode[]): string | undefined {
  if (!EDIT.test(text) && !SET.test(text)) return undefined;
  return codes
    .map((c) => c.value.trim())
    .find((v) => v.startsWith('/') && !/\s/.test(v) && /\.[A-Za-z]{2,12}$|nginx/.test(v));
}

/** `location /async` spans in prose: the nginx locations to re-point. Example: [`location /async`, `location /`] -> ['/async', '/']. */
export function nginxLocations(codes: readonly InlineCode[]): string[] {
  const out: string[] = [];
  for (const c of codes) {
    const m = /^location\s+(?:[=~^*]+\s*)?(\S+)/.exec(c.value.trim());
    if (m && !out.includes(m[1] as string)) out.push(m[1] as string);
  }
  return out;
}

const ELSEWHERE_TITLE =
  /\b(?:staging|kubernetes|k8s|minikube|openshift|(?:dev|development|test|testing|qa|uat)\s+(?:env|environment|stand|cluster|servers?)s?)\b|\b(?:for|on|with|in)\s+(?:a\s+)?docker(?:\s+(?:install\S*|setup|deployment\S*))?\b|тестов\S*\s+(?:стенд|сред|контур)|(?:dev|test|qa)-стенд|(?:для|в)\s+docker|docker-установк|预发|测试环境|开发环境|灰度环境|docker\s*(?:部署|环境)/i;

/** True for a section title about another environment (staging, Kubernetes, a test stand), whose commands are not this runbook's. Example: 'Staging (Kubernetes)' -> true. */
export function isElsewhereTitle(title: string): boolean {
  return ELSEWHERE_TITLE.test(title);
}

const ELSEWHERE_LEAD =
  /^\s*(?:(?:on|in|for)\s+(?:staging|kubernetes|k8s|dev|test)\b|на\s+(?:тестов|стенде|staging)|在(?:测试|预发|开发)环境)/i;

/** True for a line that says the commands after it are for another environment. Example: 'On staging it is simply:' -> true. */
export function saysElsewhere(text: string): boolean {
  return ELSEWHERE_LEAD.test(cleanLine(text));
}

const CONDITION =
  /^(?:(?:if|unless|in case|only if|should\s+(?:it|the|this|that|a|an|any|there)\b)\b|если|в случае|только если|如果|若|假如|万一|如有|如仍)/i;

/** The line, with list marks and Markdown marks removed. */
function cleanLine(text: string): string {
  return text
    .replace(/^\s*(?:\d+\.|[-*+])\s+/, '')
    .replace(/\*\*|__/g, '')
    .trim();
}

/** The condition a line puts on the commands after it, as written. Example: 'If it is still running after 60 s, kill it:' -> that text. */
export function conditionOf(text: string): string | undefined {
  const line = cleanLine(text);
  return CONDITION.test(line) ? line : undefined;
}

/** A poll the text asks for: re-run a command every N seconds until its output is what the text says. Example: 'Re-run this every 30 s until it prints 0' -> { delaySeconds: 30, expect: { equals: '0' } }. */
export interface PollRequest {
  delaySeconds: number;
  /** What the output must be: exactly a value, empty, or contain a text; undefined: the exit status decides. */
  expect?: { equals: string } | { empty: true } | { contains: string };
  text: string;
}

const EVERY =
  /(?:every|each|каждые|каждую|каждый|每隔?)\s*(\d+)\s*(seconds?|secs?|s\b|сек\S*|с\b|秒|minutes?|mins?|m\b|мин\S*|分钟?)/i;
const UNTIL = /\buntil\b|пока\s+не|直到|до тех пор/i;
const WAIT_START = /^(?:wait\s+(?:until|for|till)|дожд\S*|等待|直到)/i;
const OUTPUT =
  /(?:prints?|returns?|shows?|outputs?|answers?|says|выведет|выводит|вернёт|покажет|ответит|输出|返回|显示)\s*[:：]?\s*(?:`([^`]+)`|[«"“]([^»"”]+)[»"”]|(\S+))/i;
const EMPTY = /\b(?:nothing|no output|empty)\b|ничего|пуст|为空|无输出|没有输出/i;

const MUST =
  /\b(?:must|should)\s+(?:say|show|be|print|read|contain|return)\s*[:：]?\s*(?:`([^`]+)`|(empty|nothing))|должн\S*\s+(?:быть|содержать|показать|вывести)\s*[:：]?\s*(?:`([^`]+)`|(пуст\S*))|(?:应(?:为|该是|显示|包含)|必须(?:为|是|包含))\s*[:：]?\s*(?:`([^`]+)`|(空))/i;

/** What a line says the output of the command after it must be: empty, or holding a text. Example: 'the output must be empty:' -> { empty: true }. */
export function outputCheckOf(text: string): { empty: true } | { contains: string } | undefined {
  const m = MUST.exec(cleanLine(text));
  if (!m) return undefined;
  const code = m[1] ?? m[3] ?? m[5];
  return code !== undefined ? { contains: code } : { empty: true };
}

/** The poll a line of text asks for, if any. */
export function pollOf(text: string): PollRequest | undefined {
  const line = cleanLine(text);
  const every = EVERY.exec(line);
  const waits = WAIT_START.test(line) || UNTIL.test(line);
  const output = OUTPUT.exec(line);
  if (!(every && UNTIL.test(line)) && !(waits && output)) return undefined;
  const unit = (every?.[2] ?? 's').toLowerCase();
  const minutes = /^(?:m|min|мин|分)/.test(unit);
  const delaySeconds = every ? Number(every[1]) * (minutes ? 60 : 1) : 5;
  const value = output ? (output[1] ?? output[2] ?? output[3] ?? '').replace(/[.,;:)(]+$/, '') : '';
  if (!(every && UNTIL.test(line)) && value === '') return undefined;
  let expect: PollRequest['expect'];
  if (EMPTY.test(line)) expect = { empty: true };
  else if (/^\d+$/.test(value)) expect = { equals: value };
  else if (output?.[1] ?? output?.[2]) expect = { contains: value };
  return { delaySeconds, text: line, ...(expect ? { expect } : {}) };
}

/** `key=value` spans in a line's inline code: the keys a text says to set. Example: 'Set `server.port=8081` in …' -> [{ key: 'server.port', value: '8081' }]. */
export function assignmentsOf(codes: readonly InlineCode[]): { key: string; value: string; line: number }[] {
  return codes.flatMap((c) => {
    const m = /^([A-Za-z_][\w.-]*)\s*=\s*(\S(?:.*\S)?)$/.exec(c.value.trim());
    return m ? [{ key: m[1] as string, value: m[2] as string, line: c.line }] : [];
  });
}
