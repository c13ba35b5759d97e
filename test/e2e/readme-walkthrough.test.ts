/**
 * The README's walkthrough ("Running a hub and edges"), run as written: the fenced block after
 * the `<!-- walkthrough` comment is taken from README.md and its commands go through bash
 * unchanged. Its "# Terminal N:" comments say where each command runs: a terminal whose comment
 * says "leave it running" is a process that stays up (started here in its own process group,
 * its output in a log, ready when the log shows the message the comment quotes); the other
 * terminals' commands run one segment after the other, each of which must succeed.
 *
 * What a test must change, and only that: the directory (a fresh one holding the checkout's
 * bin/, deploy/, certs-dev/ and examples/, so that var/ starts empty), a broker prefix of its own
 * (LT_PREFIX) and any free port for the edges' REST APIs (LT_API_PORT=0), both environment
 * variables the README documents; and `npx lienthong` is this checkout's bin/lienthong.js (npx
 * resolves it so in the checkout root, after installing the checkout into its cache and running
 * its `prepare` build on first use, which a test has no business doing). The outcome is then
 * checked: B's inbox has the document, A's timeline shows B's 01 and, once B's 03 has travelled
 * back, 03. Everything started is killed by process group; the prefix's broker resources and
 * the directory are deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManagementClient } from '../../src/broker/management.js';
import { resourceNames } from '../../src/broker/names.js';
import { deleteDeployment } from '../../src/broker/topology.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { managementOptions } from '../../src/demo/local-exchange.js';
import { waitFor } from '../helpers/exchange.js';
import { CLI, REPO, childEnv } from '../helpers/processes.js';

const DOCUMENT_ID = '000.00.01.H12,2025/06/02,126/UBND-VP';

interface Segment {
  terminal: string;
  /** The message a process that stays up logs when it is ready. */
  ready?: string;
  script: string;
}

/** The walkthrough block of README.md, cut into its terminals' segments. */
function walkthroughSegments(readme: string): Segment[] {
  const marker = readme.indexOf('<!-- walkthrough');
  if (marker < 0) throw new Error('README.md has no <!-- walkthrough --> marker');
  const open = readme.indexOf('```sh\n', marker);
  const close = readme.indexOf('\n```', open + 6);
  if (open < 0 || close < 0) throw new Error('no ```sh block after the walkthrough marker');
  const segments: Segment[] = [];
  for (const line of readme.slice(open + 6, close).split('\n')) {
    const start = /^# Terminal (\d+):(.*)$/.exec(line);
    if (start) {
      const ready = /leave it running.*"([^"]+)"/i.exec(start[2] as string)?.[1];
      segments.push({ terminal: start[1] as string, ...(ready ? { ready } : {}), script: '' });
    }
    const segment = segments.at(-1);
    if (!segment) throw new Error(`the walkthrough block must start with "# Terminal 1: ...", not: ${line}`);
    segment.script += `${line}\n`;
  }
  return segments;
}

/** `npx lienthong` is this checkout's program; any other npx is npx. */
const NPX = `npx() { if [ "$1" = lienthong ]; then shift; node "$LIENTHONG_CLI" "$@"; else command npx "$@"; fi; }\n`;

t.test('the README walkthrough, run as written: a hub, two agencies, a document from A to B, received and accepted', async (t) => {
  const segments = walkthroughSegments(readFileSync(join(REPO, 'README.md'), 'utf8'));
  t.ok(segments.filter((s) => s.ready).length >= 3, 'the hub and both edges stay up in terminals of their own');
  const prefix = `lt-readme-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  for (const name of ['bin', 'deploy', 'certs-dev', 'examples']) symlinkSync(join(REPO, name), join(dir, name));
  const env = childEnv({ LT_PREFIX: prefix, LT_API_PORT: '0', LIENTHONG_CLI: CLI });
  const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const api = new ManagementClient(managementOptions(amqpUrl, process.env));

  const running: Array<{ child: ChildProcess; exited: Promise<void>; log: string; terminal: string }> = [];
  t.teardown(async () => {
    if (t.passing?.() === false) {
      for (const r of running) t.comment(`--- terminal ${r.terminal} (${r.log}) ---\n${tail(r.log, 15)}`);
    }
    // The whole process group: npx, bash and node alike.
    for (const r of running) signalGroup(r.child, 'SIGTERM');
    await Promise.all(
      running.map(async (r) => {
        const killer = setTimeout(() => signalGroup(r.child, 'SIGKILL'), 15_000);
        await r.exited;
        clearTimeout(killer);
      }),
    );
    await deleteDeployment(api, resourceNames(prefix)).catch(() => {});
    if (process.env.LT_KEEP_TMP) t.comment(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  const outputs: string[] = [];
  for (const [i, segment] of segments.entries()) {
    if (segment.ready) {
      const log = join(dir, `terminal-${segment.terminal}-${i}.log`);
      const fd = openSync(log, 'a');
      const child = spawn('bash', ['-c', NPX + segment.script], { cwd: dir, env, detached: true, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      let exitCode: string | undefined;
      const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => ((exitCode = signal ?? String(code)), resolve())));
      running.push({ child, exited, log, terminal: segment.terminal });
      const needle = `"msg":"${segment.ready}"`;
      await waitFor(`terminal ${segment.terminal} to log "${segment.ready}"`, () => {
        if (exitCode !== undefined) throw new Error(`terminal ${segment.terminal} ended (${exitCode}) before "${segment.ready}":\n${tail(log, 30)}`);
        return readFileSync(log, 'utf8').includes(needle);
      }, { timeoutMs: 60_000 });
      t.pass(`terminal ${segment.terminal} is up: ${segment.ready}`);
    } else {
      const result = await runScript(`set -e\n${NPX}${segment.script}`, dir, env);
      t.equal(result.code, 0, `terminal ${segment.terminal}, segment ${i}: every command succeeds`, { output: result.output });
      outputs.push(result.output);
      if (result.code !== 0) return;
    }
  }
  const output = outputs.join('\n');
  t.match(output, `queued ${DOCUMENT_ID} as packet `, 'A queued the document');
  t.match(output, /000\.00\.05\.H12: arrived \(01\) at /, "send --wait saw B's receipt");
  t.match(output, `inbox of 000.00.05.H12: 1 document(s)`, "B's inbox lists it");

  const cli = async (...args: string[]) => {
    const r = await runScript(`node "$LIENTHONG_CLI" ${args.map((a) => `'${a}'`).join(' ')}`, dir, env);
    if (r.code !== 0) throw new Error(`lienthong ${args.join(' ')} exited ${r.code}: ${r.output}`);
    return JSON.parse(r.output) as unknown;
  };
  const inbox = (await cli('inbox', '--config', 'deploy/edge-b.json', '--json')) as { items: Array<{ documentId: string; sender: string }> };
  t.match(inbox.items, [{ documentId: DOCUMENT_ID, sender: '000.00.01.H12' }], "B's inbox has the document");
  const atA = async () => (await cli('show', '--config', 'deploy/edge-a.json', DOCUMENT_ID, '--json')) as { timeline: Array<{ recipient: string; event: string }>; deliveries: Array<{ recipient: string; stage: string }> };
  t.ok((await atA()).timeline.some((e) => e.recipient === '000.00.05.H12' && e.event === '01'), "A's timeline shows B's 01");
  const accepted = await waitFor("B's 03 back at A", async () => (await atA()).deliveries.find((d) => d.recipient === '000.00.05.H12' && d.stage === '03'), { timeoutMs: 60_000, intervalMs: 500 });
  t.ok(accepted, 'A shows the document accepted (03) by B');
  t.ok(existsSync(join(dir, 'var', 'edge-a.url')), 'the AMQP URLs were written where the README says');
});

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function tail(file: string, lines: number): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
}

function runScript(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}
