import { mailboxCommand } from '../mailbox-list.js';

export const outboxCommand = mailboxCommand('out');
