import type { Command } from '../command.js';
import { buildCommand } from './build.js';
import { certsCommand } from './certs.js';
import { signCommand } from './sign.js';
import { validateCommand } from './validate.js';
import { verifyCommand } from './verify.js';

/** Every verb, in the order `lienthong --help` lists them. */
export const COMMANDS: readonly Command[] = [buildCommand, validateCommand, signCommand, verifyCommand, certsCommand];
