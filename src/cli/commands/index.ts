import type { Command } from '../command.js';
import { buildCommand } from './build.js';
import { agencyCommand } from './agency.js';
import { auditCommand } from './audit.js';
import { apikeyCommand } from './apikey.js';
import { certsCommand } from './certs.js';
import { demoCommand } from './demo.js';
import { edgeCommand } from './edge.js';
import { evidenceCommand } from './evidence.js';
import { hubCommand } from './hub.js';
import { inboxCommand } from './inbox.js';
import { outboxCommand } from './outbox.js';
import { showCommand } from './show.js';
import { overdueCommand } from './overdue.js';
import { recallCommand } from './recall.js';
import { sendCommand } from './send.js';
import { statusCommand } from './status.js';
import { signCommand } from './sign.js';
import { validateCommand } from './validate.js';
import { verifyCommand } from './verify.js';
import { webhooksCommand } from './webhooks.js';

/** Every verb, in the order `lienthong --help` lists them. */
export const COMMANDS: readonly Command[] = [
  demoCommand,
  hubCommand,
  edgeCommand,
  agencyCommand,
  apikeyCommand,
  sendCommand,
  outboxCommand,
  inboxCommand,
  showCommand,
  statusCommand,
  recallCommand,
  overdueCommand,
  webhooksCommand,
  auditCommand,
  evidenceCommand,
  buildCommand,
  validateCommand,
  signCommand,
  verifyCommand,
  certsCommand,
];
