/**
 * Which failures of a message's handling end it at once (the same input fails the same way
 * again) and which send it back to its queue (the fault may heal): src/errors.ts repeatsOnRetry.
 */
import t from 'tap';
import { LtError, repeatsOnRetry } from '../../src/errors.js';

t.test('a bug met on this input, or a refusal of the input, repeats', async (t) => {
  t.ok(repeatsOnRetry(new TypeError("Cannot read properties of undefined (reading 'codeNumber')")), 'TypeError');
  t.ok(repeatsOnRetry(new RangeError('Invalid time value')), 'RangeError');
  t.ok(repeatsOnRetry(new ReferenceError('x is not defined')), 'ReferenceError');
  t.ok(repeatsOnRetry(new SyntaxError('Unexpected token < in JSON')), 'SyntaxError (JSON.parse of bad bytes)');
  t.ok(repeatsOnRetry(new LtError('PACKET_INVALID', 'Code is required')), 'a 4xx LtError: the input is refused');
  t.ok(repeatsOnRetry(new LtError('WORKER_OUT_OF_MEMORY', 'too big')), 'a packet that exhausts a worker does it again');
});

t.test('a fault of the node, the broker or the disk may heal', async (t) => {
  t.notOk(repeatsOnRetry(new LtError('BROKER_UNREACHABLE', 'down')), 'a 5xx LtError');
  t.notOk(repeatsOnRetry(new LtError('IO', 'disk')), 'IO');
  t.notOk(repeatsOnRetry(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })), 'SQLite full');
  t.notOk(repeatsOnRetry(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })), 'ENOSPC');
  t.notOk(repeatsOnRetry(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })), 'fetch failing to connect');
  t.notOk(repeatsOnRetry('a string'), 'something thrown that is no error');
});
