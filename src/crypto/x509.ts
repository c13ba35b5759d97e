/**
 * @peculiar/x509 through one door: it needs a Reflect metadata polyfill loaded before it
 * (tsyringe inside it throws otherwise), and ESM evaluates imports in order, so every module
 * imports x509 from here.
 */
import 'reflect-metadata';

export * from '@peculiar/x509';
