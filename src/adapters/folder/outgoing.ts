/**
 * outgoing/ → packets. Each ready unit is first claimed: moved (renames) into a hidden work
 * folder, one folder per unit, so that from then on it is one thing that moves with one rename.
 * Its content hash (names and bytes of its files) is looked up: a unit already recorded became
 * a packet before a crash and is only moved to sent/. Otherwise it is submitted, and the record
 * "name + hash → packet id" is written in the transaction that queues the packet. Then the unit
 * lands in sent/<name>/ with `<name>.packet-id`, or in failed/<name>/ with `<name>.reason.txt`.
 *
 * Crash points: before the claim nothing moved; during the claim of a unit whose files lie
 * beside its description, the files still in outgoing/ are gathered at the next start; after
 * the queueing commit, the record makes the next pass move the unit instead of submitting it
 * again; the note is written inside the unit folder and the unit lands with one rename.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { asLtError, LtError, repeatsOnRetry } from '../../errors.js';
import type { Outbox, Submitted } from '../../edge/outbox.js';
import { ValidationError } from '../../edge/outbox.js';
import type { Logger } from '../../log.js';
import { faultAsError } from '../../store/faults.js';
import type { FolderConfig } from '../../edge/folder-settings.js';
import { descriptionInput, filesNamed, parseDescription } from './description.js';
import { entries, exists, isAtomicTemporary, makeDirectory, move, removeEmptyDirectory, writeFileAtomic, type FolderLayout } from './files.js';
import { firstFreeName } from './safe-name.js';
import type { FolderStore } from './store.js';
import { MARKER_SUFFIX, readyUnits, type ReadyUnit } from './units.js';

/** The client name the outbox records for what the folder drop submitted. */
export const FOLDER_CLIENT = 'folder';
export const PACKET_ID_SUFFIX = '.packet-id';
export const REASON_SUFFIX = '.reason.txt';

export interface OutgoingDeps {
  config: FolderConfig;
  layout: FolderLayout;
  store: FolderStore;
  outbox: () => Pick<Outbox, 'submitDocument' | 'submitXml'>;
  clock: () => Date;
  log: Logger;
  /** True once the edge stops: no new unit is started, and nothing is judged failed. */
  stopping: () => boolean;
}

type Outcome = { to: 'sent'; submitted: { packetId: string; documentId: string } } | { to: 'failed'; error: LtError };

export class OutgoingFolder {
  constructor(private readonly deps: OutgoingDeps) {}

  /** Finish what a previous run left claimed, then take every ready unit. */
  async pass(): Promise<void> {
    const { layout } = this.deps;
    for (const e of await entries(layout.work)) {
      if (this.deps.stopping()) return;
      if (e.directory) await this.finishClaim(e.name);
    }
    for (const unit of readyUnits(await entries(layout.outgoing), this.deps.config.mode)) {
      if (this.deps.stopping()) return;
      if (await exists(join(layout.work, unit.name))) continue; // a unit of the same name is still in hand
      if (!(await this.claim(unit))) continue;
      await this.process(unit.name);
    }
  }

  /** Move a unit into work/<name>/; false when it is not complete yet (rename mode: named files missing). */
  private async claim(unit: ReadyUnit): Promise<boolean> {
    const { layout } = this.deps;
    const target = join(layout.work, unit.name);
    if (unit.form === 'folder') {
      await move(join(layout.outgoing, unit.entry), target);
    } else {
      let named: string[] = [];
      if (unit.form === 'json') {
        named = filesNamed(await readJson(join(layout.outgoing, unit.entry)));
        const present = await Promise.all(named.map((f) => exists(join(layout.outgoing, f))));
        // Rename mode: the writer renames the files first and the description last; until then, wait.
        if (this.deps.config.mode === 'rename' && present.includes(false)) return false;
        named = named.filter((_, i) => present[i]);
      }
      await makeDirectory(target);
      // The description (or packet) first: from then on the unit is claimed, and a crash is
      // finished at the next start by gathering the files it names.
      await move(join(layout.outgoing, unit.entry), join(target, unit.entry));
      for (const file of named) await move(join(layout.outgoing, file), join(target, file));
    }
    await rm(join(layout.outgoing, `${unit.name}${MARKER_SUFFIX}`), { force: true });
    return true;
  }

  /** A unit found in work/ at start: gather the files its description names that were not moved yet, then go on. */
  private async finishClaim(name: string): Promise<void> {
    const { layout } = this.deps;
    const dir = join(layout.work, name);
    const description = join(dir, `${name}.json`);
    if (await exists(description)) {
      for (const file of filesNamed(await readJson(description))) {
        if (!(await exists(join(dir, file))) && (await exists(join(layout.outgoing, file)))) await move(join(layout.outgoing, file), join(dir, file));
      }
    }
    await rm(join(layout.outgoing, `${name}${MARKER_SUFFIX}`), { force: true });
    await this.process(name);
  }

  /** Submit a claimed unit (or recognise it as submitted) and land it in sent/ or failed/. */
  private async process(name: string): Promise<void> {
    const dir = join(this.deps.layout.work, name);
    // A kill while this unit's note was written leaves the note's temporary in the folder: it is
    // ours, not the agency's, and counting it would make an already sent unit look new.
    // It goes, so that sent/ and failed/ hold only the unit and its note.
    const all = (await entries(dir)).filter((e) => e.file).map((e) => e.name);
    for (const temporary of all.filter(isAtomicTemporary)) await rm(join(dir, temporary), { force: true });
    const files = all.filter((f) => !isAtomicTemporary(f));
    const own = new Set([`${name}${PACKET_ID_SUFFIX}`, `${name}${REASON_SUFFIX}`]);
    const unitFiles = files.filter((f) => !own.has(f)).sort();
    if (unitFiles.length === 0) {
      await removeEmptyDirectory(dir);
      return;
    }
    let outcome: Outcome;
    if (files.includes(`${name}${REASON_SUFFIX}`)) {
      outcome = { to: 'failed', error: new LtError('PACKET_INVALID', 'refused before a restart') };
    } else {
      const contents = new Map<string, Buffer>();
      for (const f of unitFiles) contents.set(f, await readFile(join(dir, f)));
      const hash = contentHash(contents);
      const recorded = this.deps.store.submitted(name, hash);
      if (recorded) {
        this.deps.log.info({ unit: name, ...recorded }, 'folder drop: unit already sent before a restart; moved to sent/');
        outcome = { to: 'sent', submitted: recorded };
      } else {
        try {
          const submitted = await this.submit(name, contents, hash);
          outcome = { to: 'sent', submitted };
          this.deps.log.info({ unit: name, packetId: submitted.packetId, documentId: submitted.documentId }, 'folder drop: unit submitted');
        } catch (error) {
          if (this.deps.stopping() || faultAsError(error) || !repeatsOnRetry(error)) {
            this.deps.log.error(
              { unit: name, err: error instanceof Error ? error.message : String(error) },
              'folder drop: a unit could not be submitted for a reason that may pass (disk, database, crypto workers); it stays in outgoing/.lienthong-work and is tried again at the next look. If this repeats, look at the edge health (/health) and the disk',
            );
            return;
          }
          outcome = { to: 'failed', error: asLtError(error) };
          this.deps.log.warn({ unit: name, errorCode: outcome.error.code }, `folder drop: unit refused, moved to failed/: ${outcome.error.message}`);
        }
      }
    }
    await this.land(name, outcome);
  }

  private async submit(name: string, contents: Map<string, Buffer>, hash: string): Promise<Submitted> {
    const xml = contents.get(`${name}.xml`) ?? soleWithExtension(contents, '.xml');
    const json = contents.get(`${name}.json`) ?? soleWithExtension(contents, '.json');
    const options = {
      inTransaction: (queued: { packetId: string; documentId: string }) => this.deps.store.recordSubmitted(name, hash, queued, this.deps.clock().toISOString()),
    };
    if (json) {
      const label = `${name}.json`;
      const input = descriptionInput(parseDescription(json.toString('utf8'), label), contents, label);
      return this.deps.outbox().submitDocument(input, FOLDER_CLIENT, options);
    }
    if (xml) return this.deps.outbox().submitXml(Buffer.from(xml), FOLDER_CLIENT, options);
    throw new LtError('PACKET_INVALID', `the unit holds neither ${name}.json (a description) nor ${name}.xml (an edXML packet)`, { path: name });
  }

  /** Write the note inside the unit folder, then move the folder to sent/ or failed/ with one rename. */
  private async land(name: string, outcome: Outcome): Promise<void> {
    const { layout } = this.deps;
    const dir = join(layout.work, name);
    const destination = outcome.to === 'sent' ? layout.sent : layout.failed;
    if (outcome.to === 'sent') {
      const { packetId, documentId } = outcome.submitted;
      await writeFileAtomic(join(dir, `${name}${PACKET_ID_SUFFIX}`), `${packetId}\n${documentId}\n`);
    } else if (!(await exists(join(dir, `${name}${REASON_SUFFIX}`)))) {
      await writeFileAtomic(join(dir, `${name}${REASON_SUFFIX}`), reasonText(outcome.error));
    }
    // exists() answers as the file system compares names (case-insensitively on Windows and macOS).
    await move(dir, join(destination, await firstFreeName(name, (candidate) => exists(join(destination, candidate)))));
  }
}

/** What failed/<name>/<name>.reason.txt says: the code, the sentence, and every finding. */
export function reasonText(error: LtError): string {
  const lines = [error.code, error.message];
  if (error.context.path) lines.push(`at: ${error.context.path}`);
  if (error instanceof ValidationError) for (const f of error.findings) lines.push(`- [${f.code}] ${f.path ? `${f.path}: ` : ''}${f.message}`);
  return `${lines.join('\n')}\n`;
}

/** SHA-256 over the unit's files, names and bytes, in name order. */
export function contentHash(contents: ReadonlyMap<string, Buffer>): string {
  const hash = createHash('sha256');
  for (const name of [...contents.keys()].sort()) {
    hash.update(`${name}\u0000`);
    hash.update(createHash('sha256').update(contents.get(name) as Buffer).digest('hex'));
    hash.update('\n');
  }
  return hash.digest('hex');
}

function soleWithExtension(contents: ReadonlyMap<string, Buffer>, extension: string): Buffer | undefined {
  const matching = [...contents.keys()].filter((n) => n.toLowerCase().endsWith(extension));
  return matching.length === 1 ? contents.get(matching[0] as string) : undefined;
}

/** A description read to learn its files; unreadable or invalid JSON names none (the submission says why). */
async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
