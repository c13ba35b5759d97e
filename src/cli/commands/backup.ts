/**
 * `lienthong edge|hub backup --config FILE --to DIR` and `lienthong edge|hub restore --config
 * FILE --from DIR [--replace]`: the verbs over src/store/backup.ts, dispatched from edge.ts and
 * hub.ts. The configuration names the node (kind, organ id, data directory).
 */
import { EXIT_OK, parseCommandArgs, reportError, requireOption, writeJson, type Io } from '../command.js';
import { LtError } from '../../errors.js';
import type { NodeKind } from '../../store/backup.js';

export const BACKUP_HELP = `Backups (the node may run during a backup; it must be stopped for a restore):
  backup --config FILE --to DIR [--json]
      writes a consistent copy of the node's data while it runs: the database (SQLite online
      backup, as of one commit), every blob it names, a copy of the configuration file and
      manifest.json (sizes and SHA-256 of everything), written last. DIR must be new or empty.
      Keys, certificates, CRLs and the broker's queues are not in it (the manifest lists the
      files the configuration names that it does not hold).
  restore --config FILE --from DIR [--replace] [--json]
      checks every byte of the backup against its manifest, then puts it in the data directory
      of the configuration; refused while the node runs, for a backup of another node, or of a
      newer lienthong. A data directory that holds a database is replaced only with --replace,
      its database and blobs then moved aside into <dataDir>/replaced-<time>/.`;

/** `backup` / `restore` of one node kind; `argv` starts with the verb. */
export async function backupVerb(kind: NodeKind, argv: string[], io: Io): Promise<number> {
  const [verb, ...rest] = argv;
  const name = `${kind} ${verb}`;
  try {
    const { values, positionals } = parseCommandArgs(rest, {
      config: { type: 'string', short: 'c' },
      to: { type: 'string' },
      from: { type: 'string' },
      replace: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (positionals.length > 0) throw new LtError('USAGE', `unexpected argument "${positionals[0]}"`);
    const { resolve } = await import('node:path');
    const configFile = resolve(io.cwd, requireOption(values.config, '--config'));
    const target = await (await import('../backup-targets.js')).backupTargetOf(kind, configFile, io.env);
    const backup = await import('../../store/backup.js');
    if (verb === 'backup') {
      if (values.from !== undefined || values.replace) throw new LtError('USAGE', '--from and --replace are options of restore; backup takes --to DIR');
      const to = resolve(io.cwd, requireOption(values.to, '--to'));
      const { packageVersion } = await import('../../version.js');
      const manifest = await backup.takeBackup({ node: target.node, to, configFile, notIncluded: target.notIncluded, version: packageVersion() });
      if (values.json) writeJson(io, { to, ...manifest });
      else {
        const database = manifest.files[0];
        io.stdout.write(
          `backup of the ${kind} ${manifest.organId} written to ${to}: database as of ${manifest.createdAt} (schema ${manifest.schemaVersion}, ${database?.size ?? 0} bytes), ` +
            `${manifest.blobs.count} blob(s) of ${manifest.blobs.bytes} bytes, the configuration file\n` +
            `not in it (keep them yourself): ${manifest.notIncluded.length > 0 ? manifest.notIncluded.join(', ') : 'nothing'}; nor the broker's queues\n`,
        );
      }
      return EXIT_OK;
    }
    if (values.to !== undefined) throw new LtError('USAGE', '--to is an option of backup; restore takes --from DIR');
    const from = resolve(io.cwd, requireOption(values.from, '--from'));
    const result = await backup.restoreBackup({ node: target.node, from, replace: values.replace === true, lock: target.lock });
    if (values.json) writeJson(io, { from, dataDir: target.node.dataDir, replacedTo: result.replacedTo ?? null, ...result.manifest });
    else {
      io.stdout.write(
        `restored the ${kind} ${result.manifest.organId} into ${target.node.dataDir} from the backup of ${result.manifest.createdAt} ` +
          `(schema ${result.manifest.schemaVersion}, ${result.manifest.blobs.count} blob(s)); ` +
          `${result.replacedTo ? `the data it replaced is in ${result.replacedTo}; ` : ''}start the ${kind} now\n`,
      );
    }
    return EXIT_OK;
  } catch (error) {
    return reportError(io, name, error);
  }
}
