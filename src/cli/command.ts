/**
 * What every `lienthong` verb is made of, and the one way verbs read their arguments and report
 * errors: usage problems exit 2 with one line on stderr; results go to stdout.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LtError, asLtError } from '../errors.js';
import { faultAsError } from '../store/faults.js';
import type { Finding } from '../envelope/validate.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Command {
  name: string;
  /** Full `--help` text of the verb. */
  help: string;
  /** `--help` of a subcommand with options of its own (`edge check --help`), by its first argument. */
  subcommandHelp?: Readonly<Record<string, string>>;
  run(argv: string[], io: Io): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** The node's storage failed for now (sysexits EX_TEMPFAIL): nothing was stored, the same command may succeed later. */
export const EXIT_TEMPORARY = 75;

type Options = NonNullable<ParseArgsConfig['options']>;

/** `node:util` parseArgs with `--help` added and errors turned into USAGE errors. */
export function parseCommandArgs<O extends Options>(
  argv: string[],
  options: O,
  allowPositionals = true,
): { values: { [K in keyof O]?: O[K] extends { multiple: true } ? string[] : O[K] extends { type: 'boolean' } ? boolean : string } & { help?: boolean }; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
    return parsed as never;
  } catch (error) {
    throw new LtError('USAGE', (error as Error).message.replace(/\. To specify.*$/s, ''));
  }
}

export function requireOption(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new LtError('USAGE', `${flag} is required`);
  return value;
}

/** Print an error as one actionable line (after its findings, if any) and give the exit code it deserves. */
export function reportError(io: Io, verb: string, error: unknown): number {
  // A refused packet (the outbox's ValidationError) carries every finding, not just the first.
  const findings = (error as { findings?: unknown } | undefined)?.findings;
  if (Array.isArray(findings)) writeFindings(io, findings as Finding[]);
  const fault = faultAsError(error);
  const e = fault ?? asLtError(error);
  const where = e.context.path ? ` [${e.context.path}]` : '';
  io.stderr.write(`lienthong ${verb}: ${e.message}${where} (${e.code})\n`);
  if (fault) return EXIT_TEMPORARY;
  return e.code === 'USAGE' || e.code === 'IO' ? EXIT_USAGE : EXIT_FAILED;
}

export function writeJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Validation findings, one a line on stderr, as `build`, `send` and `validate` print them. */
export function writeFindings(io: Io, findings: readonly Finding[]): void {
  for (const f of findings) io.stderr.write(`${f.severity} ${f.code} ${f.path}: ${f.message}\n`);
}
