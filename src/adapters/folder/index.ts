/**
 * The folder drop of an edge (edge.json "folder"): outgoing/ units become documents, received
 * documents appear in incoming/. Started and stopped with the edge; one look every pollSeconds,
 * outgoing first. A look that fails is logged with what to do and the next one tries again.
 */
import type { Edge } from '../../edge/edge.js';
import { LtError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { settlesWithin } from '../../time-limit.js';
import type { FolderConfig } from '../../edge/folder-settings.js';
import { createLayout, folderLayout, type FolderLayout } from './files.js';
import { IncomingFolder } from './incoming.js';
import { OutgoingFolder } from './outgoing.js';
import { FolderStore } from './store.js';

export type { FolderConfig } from '../../edge/folder-settings.js';

export class FolderDrop {
  readonly layout: FolderLayout;
  private readonly outgoing: OutgoingFolder;
  private readonly incoming: IncomingFolder;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly config: FolderConfig,
    edge: Pick<Edge, 'outbox' | 'document' | 'records' | 'blobs' | 'config' | 'db' | 'log'>,
    clock: () => Date = () => new Date(),
  ) {
    this.layout = folderLayout(config.root);
    this.log = edge.log.child({ adapter: 'folder' });
    const store = new FolderStore(edge.db);
    const stopping = (): boolean => this.stopped;
    this.outgoing = new OutgoingFolder({ config, layout: this.layout, store, outbox: () => edge.outbox, clock, log: this.log, stopping });
    this.incoming = new IncomingFolder({ layout: this.layout, store, edge, clock, log: this.log, stopping });
  }

  /** Lay out the folders (a root that cannot be made stops the edge's start) and begin looking. */
  async start(): Promise<void> {
    try {
      createLayout(this.layout);
      await this.incoming.clearLeftovers();
    } catch (error) {
      throw new LtError(
        'CONFIG_INVALID',
        `the folder drop cannot use ${this.config.root} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): make the folder and give the edge's user write access to it, or correct "folder.root" in edge.json`,
        { path: 'folder.root' },
      );
    }
    this.log.info({ root: this.config.root, mode: this.config.mode, pollSeconds: this.config.pollSeconds }, 'folder drop started');
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.look().finally(() => {
        this.running = undefined;
        this.schedule(this.config.pollSeconds * 1000);
      });
    }, ms);
  }

  private async look(): Promise<void> {
    try {
      await this.outgoing.pass();
    } catch (error) {
      this.log.error({ err: (error as Error).message, root: this.layout.outgoing }, 'folder drop: looking at outgoing/ failed; tried again at the next look. Check that the folder exists and the edge may read, write and rename in it');
    }
    try {
      await this.incoming.pass();
    } catch (error) {
      this.log.error({ err: (error as Error).message, root: this.layout.incoming }, 'folder drop: writing to incoming/ failed; tried again at the next look (nothing is skipped). Check the disk space and the permissions of the folder');
    }
  }

  /**
   * Stop looking. A unit in hand is left to finish for at most `deadlineMs`: what is not done
   * then is finished at the next start (its record tells whether it was sent).
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.running) await settlesWithin(this.running, deadlineMs);
  }
}

/** The folder drop as a door of a running edge, when edge.json has a "folder" section. */
export function folderAdapter(edge: Edge): FolderDrop | undefined {
  return edge.config.folder ? new FolderDrop(edge.config.folder, edge, edge.clock) : undefined;
}
