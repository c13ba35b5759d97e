/**
 * cryptoHeapMb and cryptoIdleSeconds: the crypto workers' heap cap and idle life, in hub.json and edge.json. A cap too small
 * for the largest accepted packet is refused at start, not discovered when V8 ends the process.
 */
import t from 'tap';
import { nodeCryptoOptions, nodeSettings } from '../../src/config.js';
import { DEFAULT_WORKER_HEAP_MB, DEFAULT_WORKER_IDLE_MS } from '../../src/crypto/pool.js';
import { LtError } from '../../src/errors.js';

const MiB = 1024 * 1024;
const codeOf = (raw: Record<string, unknown>): string => {
  try {
    nodeSettings(raw, 'edge.json', 4);
    return 'ok';
  } catch (error) {
    return error instanceof LtError ? `${error.code} ${error.context.path}` : String(error);
  }
};

t.test('the default fits the default packet limit, and is the pool\'s', async (t) => {
  t.equal(DEFAULT_WORKER_HEAP_MB, 512);
  t.equal(codeOf({}), 'ok');
  t.equal(nodeSettings({}, 'edge.json', 4).cryptoHeapMb, undefined, 'unset: the pool decides');
  t.equal(nodeSettings({ cryptoHeapMb: 1024 }, 'edge.json', 4).cryptoHeapMb, 1024, 'set: carried to the pool');
});

t.test('a cap under 8 × maxPacketBytes is refused with CONFIG_INVALID naming the key', async (t) => {
  t.equal(codeOf({ cryptoHeapMb: 256 }), 'ok', '256 MiB for 32 MiB packets');
  t.equal(codeOf({ cryptoHeapMb: 255 }), 'CONFIG_INVALID cryptoHeapMb', 'not 255');
  t.equal(codeOf({ cryptoHeapMb: 64, maxPacketBytes: 8 * MiB }), 'ok', 'smaller packets, smaller cap');
  t.equal(codeOf({ maxPacketBytes: 100 * MiB }), 'CONFIG_INVALID maxPacketBytes', 'larger packets need the cap raised with them');
  t.equal(codeOf({ maxPacketBytes: 100 * MiB, cryptoHeapMb: 800 }), 'ok');
  t.equal(codeOf({ cryptoHeapMb: 'lots' }), 'CONFIG_INVALID cryptoHeapMb', 'a number');
  try {
    nodeSettings({ cryptoHeapMb: 100 }, 'edge.json', 4);
  } catch (error) {
    t.match((error as LtError).message, /edge\.json: "cryptoHeapMb" is 100, under the 256 MiB/, 'the message says what to change');
  }
});

t.test('cryptoIdleSeconds: how long an idle crypto worker lives, 0 for ever', async (t) => {
  t.equal(nodeSettings({}, 'edge.json', 4).cryptoIdleSeconds, undefined, 'unset: the pool decides');
  t.same(nodeCryptoOptions({ maxPacketBytes: 32 * MiB }).idleMs, undefined);
  t.equal(DEFAULT_WORKER_IDLE_MS, 60_000);
  t.same(nodeCryptoOptions(nodeSettings({ cryptoIdleSeconds: 300 }, 'edge.json', 4)).idleMs, 300_000, 'set: carried to the pool in ms');
  t.same(nodeCryptoOptions(nodeSettings({ cryptoIdleSeconds: 0 }, 'edge.json', 4)).idleMs, 0, '0: never stopped');
  t.equal(codeOf({ cryptoIdleSeconds: -1 }), 'CONFIG_INVALID cryptoIdleSeconds');
  t.equal(codeOf({ cryptoIdleSeconds: 'soon' }), 'CONFIG_INVALID cryptoIdleSeconds');
});
