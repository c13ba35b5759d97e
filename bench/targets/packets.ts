/** Packets of a given size, and the development PKI files the commands measured are given. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPacket, composeDocument } from '../../src/envelope/index.js';

export const REPO = join(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'bin', 'lienthong.js');
const CERTS = join(REPO, 'certs-dev');

export const certsPath = (...parts: string[]): string => join(CERTS, ...parts);
export const readText = (path: string): string => readFileSync(path, 'utf8');

/** The signers of the targets: one RSA-2048 agency, one ECDSA P-256 agency (certs-dev/). */
export const SIGNERS = [
  { kind: 'RSA-2048', organId: '000.00.01.H12' },
  { kind: 'P-256', organId: '000.00.14.H12' },
] as const;

export const keyPath = (organId: string): string => certsPath('agencies', `${organId}.key.pem`);
export const certPath = (organId: string): string => certsPath('agencies', `${organId}.pem`);

/** The signing identity's PEM files of an agency, with the chain it sends along. */
export const identityFiles = (organId: string): { key: string; cert: string; chain: string } => ({ key: keyPath(organId), cert: certPath(organId), chain: certsPath('issuing-ca.pem') });

function packet(organId: string, attachment: Uint8Array): string {
  return buildPacket(
    composeDocument(
      {
        from: { organId, organName: 'Cơ quan gửi' },
        to: [{ organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' }],
        code: { codeNumber: '125', codeNotation: 'UBND-VP' },
        subject: 'V/v đo hiệu năng theo mục tiêu của issue 15',
        attachments: [{ name: 'ban-ve.pdf', content: attachment }],
      },
      new Date(),
    ),
  );
}

/** An unsigned document packet of about `bytes` bytes (UTF-8), most of it one base64 attachment. */
export function packetOfSize(organId: string, bytes: number): Buffer {
  const base = Buffer.byteLength(packet(organId, new Uint8Array(0)));
  const room = Math.max(0, bytes - base);
  return Buffer.from(packet(organId, randomBytes(Math.floor((room * 3) / 4))));
}
