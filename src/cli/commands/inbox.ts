import { mailboxCommand } from '../mailbox-list.js';

export const inboxCommand = mailboxCommand('in');
