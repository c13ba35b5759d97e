/**
 * @peculiar/x509 through one door: it needs a Reflect metadata polyfill loaded before it
 * (tsyringe inside it throws otherwise), and ESM evaluates imports in order, so every module
 * imports x509 from here.
 *
 * Required, not imported: an ESM import of a CommonJS package first scans its 150 KB bundle
 * for export names (cjs-module-lexer), some 30 ms of every `lienthong verify`'s start-up.
 */
import 'reflect-metadata';
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';

const x509 = createRequire(import.meta.url)('@peculiar/x509') as typeof X509;

export const {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  PemConverter,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
  X509Crl,
  X509CrlGenerator,
  X509CrlReason,
  cryptoProvider,
} = x509;
export type AuthorityKeyIdentifierExtension = X509.AuthorityKeyIdentifierExtension;
export type BasicConstraintsExtension = X509.BasicConstraintsExtension;
export type CRLDistributionPointsExtension = X509.CRLDistributionPointsExtension;
export type ExtendedKeyUsageExtension = X509.ExtendedKeyUsageExtension;
export type Extension = X509.Extension;
export type KeyUsageFlags = X509.KeyUsageFlags;
export type KeyUsagesExtension = X509.KeyUsagesExtension;
export type Name = X509.Name;
export type SubjectKeyIdentifierExtension = X509.SubjectKeyIdentifierExtension;
export type X509Certificate = X509.X509Certificate;
export type X509Crl = X509.X509Crl;
export type X509CrlReason = X509.X509CrlReason;
