/**
 * `lienthong edge init`: asks for what only the agency knows (organ id, the hub's organ id, the
 * AMQP URL "agency add" printed, certificate and key, trust anchors, CRLs), each also a flag,
 * checks at once what can be checked offline, and writes a commented edge configuration.
 */
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { EXIT_OK, parseCommandArgs, reportError, type Io } from '../command.js';
import { LtError } from '../../errors.js';

export const EDGE_INIT_HELP = `Usage: lienthong edge init [--out edge.json] [--organ-id ID] [--hub-organ-id ID]
                         [--amqp-url URL] [--cert FILE] [--key FILE] [--chain FILE]
                         [--anchor FILE]... [--crl FILE]... [--organ-name TEXT]
                         [--prefix P] [--data-dir DIR] [--clamd ADDRESS] [--dev]

Writes a new edge configuration with a comment on every setting. What no flag gives is asked
on standard input, one answer a line (a terminal, or a pipe: printf '...\\n' | lienthong edge
init). Before writing, it checks what it can without the network: the organ id's form, that
the AMQP URL names this agency's broker user (as "lienthong agency add" printed it), that the
key belongs to the certificate, that the certificate is issued to the organ id and chains to a
trust anchor. It never overwrites a file; the file is written mode 600 (it holds the broker
password). Then run "lienthong edge check --config <file>".

Options:
  --out FILE          the configuration to write (default edge.json)
  --organ-id ID       this agency's organ id, e.g. 000.00.01.H12
  --hub-organ-id ID   the hub's organ id
  --amqp-url URL      the AMQP URL "lienthong agency add" printed (password and queue token included)
  --cert FILE         the agency's signing certificate (PEM)
  --key FILE          its private key (unencrypted PEM)
  --chain FILE        the issuing CA certificate(s) (PEM), sent along with signatures
  --anchor FILE       a trust anchor: the root CA certificate (PEM); repeat for several
  --crl FILE          a CA's CRL (PEM); repeat for several
  --organ-name TEXT   the name in outgoing packets (default: the certificate's CN)
  --prefix P          the hub's broker prefix (default lt)
  --data-dir DIR      the database and blob store (default var/edge-<organ id>)
  --clamd ADDRESS     clamd's socket path or tcp://host:3310
  --dev               allow the development PKI of certs-dev/ as anchor (tests, never production)
  -h, --help          this help`;

/** Answers one line at a time from standard input; lines that arrive early wait their question. */
function lineReader(io: Io): { ask(question: string): Promise<string | undefined>; close(): void } {
  let rl: ReturnType<typeof createInterface> | undefined;
  let lines: AsyncIterator<string> | undefined;
  return {
    async ask(question) {
      if (!rl) {
        rl = createInterface({ input: process.stdin, terminal: false });
        lines = rl[Symbol.asyncIterator]();
      }
      io.stderr.write(question);
      const next = await (lines as AsyncIterator<string>).next();
      return next.done ? undefined : next.value.trim();
    },
    close() {
      rl?.close();
    },
  };
}

const split = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export async function runEdgeInit(argv: string[], io: Io): Promise<number> {
  const reader = lineReader(io);
  try {
    const { values, positionals } = parseCommandArgs(argv, {
      out: { type: 'string', short: 'o' },
      'organ-id': { type: 'string' },
      'hub-organ-id': { type: 'string' },
      'amqp-url': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      chain: { type: 'string' },
      anchor: { type: 'string', multiple: true },
      crl: { type: 'string', multiple: true },
      'organ-name': { type: 'string' },
      prefix: { type: 'string' },
      'data-dir': { type: 'string' },
      clamd: { type: 'string' },
      dev: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(`${EDGE_INIT_HELP}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new LtError('USAGE', `unexpected argument "${positionals[0]}"`);
    const out = resolve(io.cwd, values.out ?? 'edge.json');
    // Refused before any question: nobody answers eight of them to learn the file exists.
    if (existsSync(out)) throw new LtError('USAGE', `${out} exists; it is never overwritten: remove it or choose another --out; nothing written`);
    const { isOrganId } = await import('../../envelope/values.js');

    let asking = false;
    const required = async (given: string | undefined, flag: string, question: string, valid?: (v: string) => string | undefined): Promise<string> => {
      let answer = given;
      if (answer === undefined) {
        asking = true;
        answer = await reader.ask(`${question}: `);
        if (answer === undefined || answer === '') throw new LtError('USAGE', `no answer for ${question.toLowerCase()}; give ${flag}; nothing written`);
      }
      const wrong = valid?.(answer);
      if (wrong) throw new LtError('USAGE', `${flag} ${wrong}; nothing written`);
      return answer;
    };
    // Optional answers are asked only in a session that asks anyway: a script that gave every
    // required flag is not held up waiting for input.
    const optional = async (given: string | string[] | undefined, question: string): Promise<string[]> => {
      if (given !== undefined) return Array.isArray(given) ? given : [given];
      if (!asking) return [];
      return split((await reader.ask(`${question} (empty for none): `)) ?? '');
    };
    const organIdCheck = (v: string): string | undefined => (isOrganId(v) ? undefined : `"${v}" is not an organ id (e.g. 000.00.01.H12)`);

    const organId = await required(values['organ-id'], '--organ-id', "This agency's organ id", organIdCheck);
    const hubOrganId = await required(values['hub-organ-id'], '--hub-organ-id', "The hub's organ id", organIdCheck);
    const amqpUrl = await required(values['amqp-url'], '--amqp-url', 'The AMQP URL "lienthong agency add" printed');
    const cert = await required(values.cert, '--cert', 'Signing certificate (PEM file)');
    const key = await required(values.key, '--key', 'Its private key (PEM file)');
    const chain = (await optional(values.chain, 'Issuing CA certificate(s) (PEM file)'))[0];
    const anchors = values.anchor ?? split(await required(undefined, '--anchor', 'Trust anchor(s): root CA certificate files (PEM, comma-separated)'));
    const crls = await optional(values.crl, "CAs' CRL files (PEM, comma-separated)");

    const { validateInitAnswers } = await import('../../edge/init-validate.js');
    const prefix = values.prefix ?? 'lt';
    const fromCwd = (p: string): string => resolve(io.cwd, p);
    const checked = await validateInitAnswers({
      organId,
      amqpUrl,
      prefix,
      key: fromCwd(key),
      cert: fromCwd(cert),
      ...(chain ? { chain: fromCwd(chain) } : {}),
      anchors: anchors.map(fromCwd),
      crls: crls.map(fromCwd),
      dev: values.dev === true,
    });

    // Paths as the configuration reads them: relative to the file when they are beside or under it.
    const base = dirname(out);
    const written = (p: string): string => {
      const r = relative(base, fromCwd(p));
      return r.startsWith('..') || isAbsolute(r) ? fromCwd(p) : r;
    };
    const { renderEdgeConfig } = await import('../../edge/init-config.js');
    const text = renderEdgeConfig(
      {
        organId,
        ...((values['organ-name'] ?? checked.organName) ? { organName: values['organ-name'] ?? checked.organName } : {}),
        hubOrganId,
        amqpUrl,
        prefix,
        dataDir: values['data-dir'] ? written(values['data-dir']) : `var/edge-${organId}`,
        key: written(key),
        cert: written(cert),
        ...(chain ? { chain: written(chain) } : {}),
        anchors: anchors.map(written),
        crls: crls.map(written),
        dev: values.dev === true,
        ...(values.clamd ? { clamd: values.clamd } : {}),
      },
      new Date(),
    );
    // What was written must be what the edge reads: parsed back before anything touches the disk.
    const { stripJsonComments } = await import('../../json-comments.js');
    const { edgeConfigFrom } = await import('../../edge/config.js');
    edgeConfigFrom(JSON.parse(stripJsonComments(text)) as Record<string, unknown>, base, out, {});
    try {
      await writeFile(out, text, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new LtError('USAGE', `${out} exists; it is never overwritten: remove it or choose another --out; nothing written`);
      throw new LtError('IO', `cannot write ${out}: ${code ?? (error as Error).message}`, { path: out });
    }
    io.stdout.write(`wrote ${out} for ${organId} (certificate ${checked.certificate}, valid until ${checked.notAfter})\n`);
    io.stdout.write(`next: lienthong edge check --config ${relative(io.cwd, out) || out}\n`);
    return EXIT_OK;
  } catch (error) {
    return reportError(io, 'edge init', error);
  } finally {
    reader.close();
  }
}
