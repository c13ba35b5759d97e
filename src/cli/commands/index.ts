import type { Command } from '../command.js';
import { buildCommand } from './build.js';
import { validateCommand } from './validate.js';

/** Every verb, in the order `lienthong --help` lists them. */
export const COMMANDS: readonly Command[] = [buildCommand, validateCommand];
