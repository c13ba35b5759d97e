/**
 * Reading a markdown document as an operator reads it: the `lienthong` commands of its code
 * blocks, and the names it sends people to look up (configuration keys, environment variables,
 * metrics, error codes); and judging each command against the `--help` of the verb it runs.
 *
 * Conventions the guides follow so that a name's kind is known from its shape:
 * - inline `a.b` or `camelCase`: a configuration key (a single lowercase word is not checked:
 *   it may as well be a value, `require`, `manual`); JSON blocks are configuration snippets;
 * - inline `LT_…` / `AMQP_URL`, and `LT_…=` assignments in code blocks: environment variables;
 * - `lt_…` anywhere: a Prometheus metric;
 * - inline `UPPER_CASE` (not an environment variable): an error code of src/errors.ts;
 * - field names of logs and JSON output are written quoted, `"packetId"`, and so are not keys.
 */

export interface CodeBlock {
  lang: string;
  text: string;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  // Fences may be indented (a block inside a list item); the closing fence has the same indent.
  for (const m of markdown.matchAll(/^([ \t]*)```([\w-]*)[^\n]*\n([\s\S]*?)^\1```[ \t]*$/gm)) blocks.push({ lang: m[2] as string, text: m[3] as string });
  return blocks;
}

/** The markdown outside its fenced code blocks. */
export function prose(markdown: string): string {
  return markdown.replace(/^([ \t]*)```[\s\S]*?^\1```[ \t]*$/gm, '');
}

export function inlineCode(markdown: string): string[] {
  return [...prose(markdown).matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);
}

/** Words of one shell line, quotes removed; an unquoted `#` after a space starts a comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i] as string;
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const PROGRAM = /^(?:lienthong|(?:.*\/)?bin\/lienthong(?:\.js)?)$/;
const SHELL_OPERATOR = /^(?:\||\|\||&&|;|&|\d?>>?.*|<.*|\d?>&\d)$/;
/** Words that run the command after them: `sudo -u x lienthong …`, `node bin/lienthong.js …`. */
const WRAPPERS = new Set(['sudo', 'runuser', 'npx', 'exec', 'nohup', 'env', 'node', 'time']);
const WRAPPER_VALUED = new Set(['-u', '-g', '--user', '--group']);

/** One invocation of the CLI: the words after the program, up to a shell operator. */
export interface GuideCommand {
  words: string[];
  /** The code line it was read from, for messages. */
  line: string;
}

/** The words of a simple command after its program, when that program is lienthong. */
function lienthongArguments(words: readonly string[]): string[] | undefined {
  let i = 0;
  // Assignments first (`AMQP_URL=… lienthong`, a systemd `ExecStart=/usr/bin/node`), then wrappers and their options.
  while (i < words.length) {
    const word = words[i] as string;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || WRAPPERS.has(word) || word === '--') i++;
    else if (word.startsWith('-') && i > 0) i += WRAPPER_VALUED.has(word) ? 2 : 1;
    else break;
  }
  return i < words.length && PROGRAM.test(words[i] as string) ? words.slice(i + 1) : undefined;
}

/**
 * Every `lienthong …` invocation in the code blocks (`lienthong`, `npx lienthong`, `node
 * bin/lienthong.js`, `ExecStart=/usr/bin/node /opt/lienthong/bin/lienthong.js` in a systemd
 * unit, after `sudo` or `AMQP_URL=…`), continuation lines joined, comments dropped. A program
 * word counts only where a shell runs it: `ln -s … /usr/local/bin/lienthong` is no command.
 */
export function guideCommands(markdown: string): GuideCommand[] {
  const commands: GuideCommand[] = [];
  for (const block of codeBlocks(markdown)) {
    if (block.lang === 'json' || block.lang === 'jsonc') continue;
    for (const line of block.text.replace(/\\\n\s*/g, ' ').split('\n')) {
      const trimmed = line.trim();
      if (trimmed.startsWith('#') || trimmed.startsWith('//')) continue;
      let simple: string[] = [];
      for (const word of [...shellWords(trimmed), ';']) {
        if (!SHELL_OPERATOR.test(word)) {
          simple.push(word);
          continue;
        }
        const args = lienthongArguments(simple);
        if (args && args.length > 0) commands.push({ words: args, line: trimmed });
        simple = [];
      }
    }
  }
  return commands;
}

/** What a verb's `--help` says it accepts. */
export interface HelpSyntax {
  /** Subcommand paths of its usage lines (`[]`: the verb alone; `['user', 'add']`). */
  paths: string[][];
  /** Every option the help names, long and short. */
  options: Set<string>;
  /** The options the help shows with a value (`--config FILE`, `-o, --out FILE`). */
  valued: Set<string>;
}

const SUBCOMMAND = /^[a-z][a-z-]*(?:\|[a-z][a-z-]*)*$/;
const PLACEHOLDER = String.raw`(?:[A-Z<"][^\s\]]*|[a-z-]+(?:\|[a-z-]+)+|[\w-]+\.json)`;

export function helpSyntax(verb: string, help: string): HelpSyntax {
  const paths: string[][] = [];
  for (const line of help.split('\n')) {
    const words = line.trim().split(/\s+/);
    const at = words.findIndex((w, i) => w === verb && words[i - 1] === 'lienthong');
    if (at < 0 || !/^(?:Usage:\s+)?lienthong\s/.test(line.trim())) continue;
    let expanded: string[][] = [[]];
    for (const word of words.slice(at + 1)) {
      if (!SUBCOMMAND.test(word)) break;
      expanded = expanded.flatMap((p) => word.split('|').map((alternative) => [...p, alternative]));
    }
    paths.push(...expanded);
  }
  const options = new Set<string>(['--help', '-h']);
  for (const m of help.matchAll(/(?:^|[\s[(,|])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?=[\s\],=|)]|$)/gm)) options.add(m[1] as string);
  const valued = new Set<string>();
  for (const m of help.matchAll(new RegExp(String.raw`((?:--?[a-zA-Z][\w-]*, )*)(--?[a-zA-Z][\w-]*) ${PLACEHOLDER}`, 'g'))) {
    valued.add(m[2] as string);
    for (const other of (m[1] as string).split(', ').filter(Boolean)) valued.add(other);
  }
  return { paths, options, valued };
}

/** A command's options and positionals, read with what the help says takes a value. */
export function parseWords(words: readonly string[], valued: ReadonlySet<string>): { options: string[]; positionals: string[] } {
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === '--') {
      positionals.push(...words.slice(i + 1));
      break;
    }
    if (/^--?[a-zA-Z]/.test(word)) {
      const name = word.split('=')[0] as string;
      options.push(name);
      if (!word.includes('=') && valued.has(name)) i++;
    } else {
      positionals.push(word);
    }
  }
  return { options, positionals };
}

/** The verbs of the CLI as the guide test sees them: name and `--help` text. */
export interface VerbHelp {
  name: string;
  help: string;
}

/** What the CLI answers, asked beforehand (the checks below are pure). */
export interface CliAnswers {
  /** Whether the CLI answers a flag given before any verb (`lienthong --version`). */
  topLevel(flag: string): boolean;
  /** What `lienthong <verb> <subcommand…> --help` prints, when it was asked. */
  help?(path: readonly string[]): string | undefined;
}

/**
 * What is wrong with one command of the guide, in words (empty: the CLI accepts it): an unknown
 * verb, a subcommand its help does not list, an option the help of that subcommand (or, when it
 * has none of its own, of the verb) does not name.
 */
export function commandProblems(words: readonly string[], verbs: readonly VerbHelp[], cli: CliAnswers): string[] {
  const [verb, ...args] = words;
  if (verb === undefined) return ['no verb'];
  if (verb.startsWith('-')) return cli.topLevel(verb) ? [] : [`"lienthong ${verb}" is not an option the CLI answers`];
  const command = verbs.find((v) => v.name === verb);
  if (!command) return [`"${verb}" is not a verb of the CLI (${verbs.map((v) => v.name).join(', ')})`];
  const syntax = helpSyntax(verb, command.help);
  const { positionals } = parseWords(args, syntax.valued);
  const problems: string[] = [];
  const matched = syntax.paths.filter((path) => path.every((word, i) => positionals[i] === word)).sort((a, b) => b.length - a.length)[0];
  const first = positionals[0];
  if ((matched === undefined || matched.length === 0) && first !== undefined && SUBCOMMAND.test(first)) {
    const listed = [...new Set(syntax.paths.filter((p) => p.length > 0).map((p) => p.join(' ')))];
    problems.push(`"lienthong ${verb} --help" lists no subcommand "${first}"${listed.length ? ` (it lists: ${listed.join(', ')})` : ''}`);
  }
  // A subcommand with a help of its own (`lienthong edge init --help`) is held to that help.
  const path = matched ?? [];
  const own = path.length > 0 ? cli.help?.([verb, ...path]) : undefined;
  const optionsHelp = own ?? command.help;
  const shown = `lienthong ${[verb, ...(own !== undefined ? path : [])].join(' ')} --help`;
  const { options } = parseWords(args, helpSyntax(verb, optionsHelp).valued);
  const named = helpSyntax(verb, optionsHelp).options;
  for (const option of options) if (!named.has(option)) problems.push(`"${shown}" names no option ${option}`);
  return problems;
}

/**
 * `lienthong hub user add chief --config x` → `hub user add`: the verb and the longest
 * subcommand path of its help that the command follows; for a subcommand the help does not
 * list (yet), the verb and that word.
 */
export function commandName(words: readonly string[], verbs: readonly VerbHelp[]): string {
  const [verb, ...args] = words;
  const command = verbs.find((v) => v.name === verb);
  const syntax = command ? helpSyntax(verb as string, command.help) : { paths: [], valued: new Set<string>() };
  const { positionals } = parseWords(args, syntax.valued);
  const path = syntax.paths.filter((p) => p.every((word, i) => positionals[i] === word)).sort((a, b) => b.length - a.length)[0] ?? [];
  const first = positionals[0];
  const subcommand = path.length > 0 ? path : first !== undefined && SUBCOMMAND.test(first) ? [first] : [];
  return [verb, ...subcommand].join(' ');
}

/** Whether a pending entry (`edge check`, `--version`) names this command or a prefix of it. */
export function isPending(words: readonly string[], pending: readonly string[]): boolean {
  const text = words.join(' ');
  return pending.some((entry) => text === entry || text.startsWith(`${entry} `));
}

const FILE_EXTENSION = /\.(?:json|jsonc|sqlite|lock|pem|xml|zip|conf|md|ts|js|mjs|service|txt|url|ya?ml|log|gz|tar|key|crl|sh|d|env|png|csv|html)$/;

/**
 * Configuration key paths the markdown names: every leaf of its JSON blocks (arrays are
 * values: `api.keys`), and inline code shaped as a key path.
 */
export function configKeys(markdown: string): string[] {
  const keys = new Set<string>();
  for (const block of codeBlocks(markdown)) {
    if (block.lang !== 'json' && block.lang !== 'jsonc') continue;
    const value = JSON.parse(stripJsonComments(block.text)) as unknown;
    for (const path of leafPaths(value)) keys.add(path);
  }
  for (const code of inlineCode(markdown)) {
    if (FILE_EXTENSION.test(code)) continue;
    if (/^[a-z][a-zA-Z0-9]*(?:\.[a-z][a-zA-Z0-9]*)+$/.test(code) || /^[a-z]+[A-Z][a-zA-Z0-9]*$/.test(code)) keys.add(code);
  }
  return [...keys];
}

function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return prefix ? [prefix] : [];
  const entries = Object.entries(value);
  if (entries.length === 0) return prefix ? [prefix] : [];
  return entries.flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

/** `//` and `/* *\/` comments out of JSON text, strings left alone. */
export function stripJsonComments(text: string): string {
  return text.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (match, string: string | undefined) => string ?? '');
}

const ENV_VARIABLE = /^(?:LT_[A-Z0-9_]+|AMQP_URL)$/;

export function environmentVariables(markdown: string): string[] {
  const names = new Set(inlineCode(markdown).filter((code) => ENV_VARIABLE.test(code)));
  for (const block of codeBlocks(markdown)) for (const m of block.text.matchAll(/(?:^|[\s;(])((?:LT_[A-Z0-9_]+|AMQP_URL))=/gm)) names.add(m[1] as string);
  return [...names];
}

export function metricNames(markdown: string): string[] {
  return [...new Set([...markdown.matchAll(/\blt_[a-z0-9_]+/g)].map((m) => m[0]))];
}

export function errorCodes(markdown: string): string[] {
  return [...new Set(inlineCode(markdown).filter((code) => /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/.test(code) && code.length > 1 && !ENV_VARIABLE.test(code)))];
}
