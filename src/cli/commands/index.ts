/**
 * Every verb with its one-line summary, in the order `lienthong --help` lists them. A verb's
 * module (and everything it imports) is loaded only when that verb runs: `lienthong --help`
 * and a quick `verify` must not pay for the hub, the broker client and the dashboard.
 */
import type { Command } from '../command.js';

export interface Verb {
  name: string;
  /** One line for `lienthong --help`. */
  summary: string;
  load(): Promise<Command>;
}

export const VERBS: readonly Verb[] = [
  { name: 'demo', summary: 'Run a hub and three edges and send one signed document (needs RabbitMQ)', load: async () => (await import('./demo.js')).demoCommand },
  { name: 'hub', summary: 'Run the provincial hub (routing, tracking, bounces)', load: async () => (await import('./hub.js')).hubCommand },
  { name: 'edge', summary: "Run an agency's edge node (outbox, inbox, REST API)", load: async () => (await import('./edge.js')).edgeCommand },
  { name: 'agency', summary: 'Register, list, suspend, resume or remove agencies in the hub directory', load: async () => (await import('./agency.js')).agencyCommand },
  { name: 'apikey', summary: "Create an API key for a client system of an edge's REST API", load: async () => (await import('./apikey.js')).apikeyCommand },
  { name: 'send', summary: "Submit a document to an edge's outbox (signed now, or verified if signed already; sent by the running edge)", load: async () => (await import('./send.js')).sendCommand },
  { name: 'outbox', summary: 'List the documents an edge sent, urgent first, with each recipient\'s status', load: async () => (await import('./outbox.js')).outboxCommand },
  { name: 'inbox', summary: 'List the documents an edge received, urgent first, with their status here', load: async () => (await import('./inbox.js')).inboxCommand },
  { name: 'show', summary: 'Show one document: metadata, status with each recipient, timeline with bounce reasons, packets, hub hop', load: async () => (await import('./show.js')).showCommand },
  { name: 'status', summary: 'Act on a received document: accept 03, assign 04, process 05, complete 06, return 02, answer a recall 15/16', load: async () => (await import('./status.js')).statusCommand },
  { name: 'recall', summary: 'Recall (thu hồi) a sent document from all or some recipients (status 13)', load: async () => (await import('./recall.js')).recallCommand },
  { name: 'overdue', summary: 'List what is late (receipts, processing past DueDate, late issues) or must go on paper', load: async () => (await import('./overdue.js')).overdueCommand },
  { name: 'webhooks', summary: "List an edge's webhook deliveries (pending, delivered, failed) or replay one", load: async () => (await import('./webhooks.js')).webhooksCommand },
  { name: 'audit', summary: "Verify the hub's hash-chained audit trail, export a signed bundle, check one offline", load: async () => (await import('./audit.js')).auditCommand },
  { name: 'evidence', summary: 'Write the evidence file (zip) of a document, or check one offline', load: async () => (await import('./evidence.js')).evidenceCommand },
  { name: 'build', summary: 'Build an unsigned edXML document packet from JSON metadata', load: async () => (await import('./build.js')).buildCommand },
  { name: 'validate', summary: 'Check edXML packets against the standard and the peers\' rules', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'sign', summary: 'Sign an edXML packet with an agency key and certificate (XMLDSig)', load: async () => (await import('./sign.js')).signCommand },
  { name: 'verify', summary: 'Verify the signature, certificate chain and sender of an edXML packet', load: async () => (await import('./verify.js')).verifyCommand },
  { name: 'certs', summary: 'Create a development PKI (test CA, hub and agency certificates) - never for production', load: async () => (await import('./certs.js')).certsCommand },
];

/** Every verb's command, loaded (tests and documentation checks; the CLI itself loads one). */
export async function loadAllCommands(): Promise<Command[]> {
  return Promise.all(VERBS.map((verb) => verb.load()));
}
