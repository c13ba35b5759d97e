/**
 * Malware scanning of attachments before signing, with ClamAV's daemon (clamd) over its socket
 * (INSTREAM command; a unix socket path or tcp://host:port). Without a configured scanner the
 * edge runs, and says once at start that scanning is off.
 */
import { connect, type Socket } from 'node:net';
import { LtError } from '../errors.js';

export interface ScanResult {
  clean: boolean;
  /** The signature clamd reported, e.g. "Win.Test.EICAR_HDB-1". */
  signature?: string;
}

export interface Scanner {
  readonly description: string;
  scan(content: Uint8Array): Promise<ScanResult>;
}

export interface ClamdOptions {
  /** "/run/clamav/clamd.ctl" or "tcp://127.0.0.1:3310". */
  address: string;
  /** Per scan. Default 30 s. */
  timeoutMs?: number;
}

const CHUNK = 64 * 1024;

export class ClamdScanner implements Scanner {
  readonly description: string;

  constructor(private readonly options: ClamdOptions) {
    this.description = `ClamAV clamd at ${options.address}`;
  }

  private open(): Socket {
    const address = this.options.address;
    if (address.startsWith('tcp://')) {
      const url = new URL(address);
      return connect({ host: url.hostname, port: Number(url.port || 3310) });
    }
    return connect({ path: address });
  }

  /** clamd's PING: whether it answers PONG (`lienthong edge check`); the reason when not. */
  ping(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = this.open();
      const chunks: Buffer[] = [];
      const fail = (message: string): void => {
        socket.destroy();
        reject(new LtError('SCAN_FAILED', `malware scanner (${this.description}) ${message}`));
      };
      socket.setTimeout(timeoutMs, () => fail('did not answer PING in time'));
      socket.on('error', (error) => fail(`is unreachable: ${error.message}`));
      socket.on('data', (data) => chunks.push(data));
      socket.on('end', () => {
        const reply = Buffer.concat(chunks).toString('utf8').replace(/\0/g, '').trim();
        socket.destroy();
        if (reply === 'PONG') resolve();
        else fail(`answered "${reply}" to PING instead of PONG`);
      });
      socket.on('connect', () => socket.end('zPING\0'));
    });
  }

  scan(content: Uint8Array): Promise<ScanResult> {
    return new Promise((resolve, reject) => {
      const socket = this.open();
      const chunks: Buffer[] = [];
      const fail = (message: string): void => {
        socket.destroy();
        reject(new LtError('SCAN_FAILED', `malware scanner (${this.description}) ${message}; the document was not sent`));
      };
      socket.setTimeout(this.options.timeoutMs ?? 30_000, () => fail('did not answer in time'));
      socket.on('error', (error) => fail(`is unreachable: ${error.message}`));
      socket.on('data', (data) => chunks.push(data));
      socket.on('end', () => {
        const reply = Buffer.concat(chunks).toString('utf8').replace(/\0/g, '').trim();
        socket.destroy();
        // "stream: OK", "stream: <signature> FOUND", "INSTREAM size limit exceeded. ERROR"
        if (/:\s*OK$/.test(reply)) resolve({ clean: true });
        else {
          const found = /:\s*(.+) FOUND$/.exec(reply);
          if (found) resolve({ clean: false, signature: found[1] as string });
          else reject(new LtError('SCAN_FAILED', `malware scanner (${this.description}) answered "${reply}"; the document was not sent`));
        }
      });
      socket.on('connect', () => {
        socket.write('zINSTREAM\0');
        for (let offset = 0; offset < content.byteLength; offset += CHUNK) {
          const part = content.subarray(offset, Math.min(offset + CHUNK, content.byteLength));
          const length = Buffer.alloc(4);
          length.writeUInt32BE(part.byteLength);
          socket.write(length);
          socket.write(part);
        }
        socket.end(Buffer.alloc(4));
      });
    });
  }
}

/** Scan every attachment; refuse the whole document on the first infected one. */
export async function scanAttachments(scanner: Scanner, attachments: ReadonlyArray<{ name: string; content: Uint8Array }>): Promise<void> {
  for (const attachment of attachments) {
    const result = await scanner.scan(attachment.content);
    if (!result.clean) {
      throw new LtError(
        'MALWARE_FOUND',
        `attachment "${attachment.name}" contains malware (${result.signature ?? 'unnamed'}); the document was not signed or sent`,
        { path: `attachments.${attachment.name}` },
      );
    }
  }
}
