/**
 * The `axis` block of a federation link of kind "axis" (hub.json `federation.links[]`), read
 * and checked in one place, pure but for the environment it is handed: where the national
 * axis's SDK endpoint is, the system the hub is there, its secret, and the link's pace.
 *
 * ```json
 * { "baseUrl": "https://axis.example/vxp", "systemId": "camau.lienthong",
 *   "secretEnv": "LT_AXIS_SECRET", "pollSeconds": 15 }
 * ```
 * The secret is given inline (`secret`) or, better, by naming an environment variable
 * (`secretEnv`), which may itself be given as a file (`<NAME>_FILE`, as every secret of
 * lienthong's).
 */
import { envSecret } from '../../config.js';
import { LtError } from '../../errors.js';
import { SYSTEM_ID_PATTERN } from '../../sdk-protocol/index.js';

export interface AxisSettings {
  /** The axis's SDK endpoint: calls go to `<baseUrl>/<callName>`. */
  baseUrl: string;
  /** The system id the axis issued to the hub. */
  systemId: string;
  /** The HMAC secret of that system. */
  secret: string;
  /** Deadline of one call to the axis, in seconds. Default 30. */
  timeoutSeconds: number;
  /** How often the axis is asked for what it holds for the hub, in seconds. Default 15. */
  pollSeconds: number;
  /** Longest wait between two attempts while the axis is unreachable, in seconds. Default 60. */
  retryMaxSeconds: number;
  /** Packets of each lane taken from the broker ahead of sending (held unacknowledged). Default 32. */
  prefetch: number;
}

export const AXIS_DEFAULTS = { timeoutSeconds: 30, pollSeconds: 15, retryMaxSeconds: 60, prefetch: 32 } as const;

const NUMBERS = Object.keys(AXIS_DEFAULTS) as Array<keyof typeof AXIS_DEFAULTS>;
const KEYS = ['baseUrl', 'systemId', 'secret', 'secretEnv', ...NUMBERS];
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The `axis` block at `path` (e.g. `federation.links[2].axis`) of `file`, checked: a refusal is
 * CONFIG_INVALID naming the key and what it must be.
 */
export function axisSettings(raw: unknown, env: NodeJS.ProcessEnv, path = 'axis', file = 'the configuration'): AxisSettings {
  const invalid = (key: string | undefined, message: string): LtError =>
    new LtError('CONFIG_INVALID', `${file}: ${key === undefined ? `"${path}"` : `"${path}.${key}"`} ${message}`, { path: key === undefined ? path : `${path}.${key}` });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid(undefined, 'must be an object: {"baseUrl", "systemId", "secret" or "secretEnv"}');
  }
  const block = raw as Record<string, unknown>;
  const unknown = Object.keys(block).find((key) => !KEYS.includes(key));
  if (unknown !== undefined) throw invalid(unknown, `is not a setting of the national axis; known: ${KEYS.join(', ')}`);

  const baseUrl = block.baseUrl;
  if (typeof baseUrl !== 'string' || baseUrl.trim() === '') throw invalid('baseUrl', "is required: the URL of the axis's SDK endpoint (the SDK's service.endpoint)");
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw invalid('baseUrl', `is not a URL: "${baseUrl}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('baseUrl', `must be an http(s) URL, not ${url.protocol}`);
  if (url.username || url.password) throw invalid('baseUrl', 'must not carry a user or password: the axis authenticates the system by its signed headers (systemId, secret)');
  if (url.search || url.hash) throw invalid('baseUrl', 'must not carry a query or a fragment: the call name is appended to it');

  const systemId = block.systemId;
  if (typeof systemId !== 'string' || !SYSTEM_ID_PATTERN.test(systemId)) {
    throw invalid('systemId', 'must be the system id the axis issued to the hub: 1 to 100 printable ASCII characters without blanks');
  }

  const numbers = {} as Record<keyof typeof AXIS_DEFAULTS, number>;
  for (const key of NUMBERS) {
    const value = block[key] ?? AXIS_DEFAULTS[key];
    const whole = key === 'prefetch';
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (whole && !Number.isInteger(value))) {
      throw invalid(key, `must be a positive ${whole ? 'whole ' : ''}number (default ${AXIS_DEFAULTS[key]})`);
    }
    numbers[key] = value;
  }

  return { baseUrl: baseUrl.replace(/\/+$/, ''), systemId, secret: secretOf(block, env, invalid), ...numbers };
}

function secretOf(block: Record<string, unknown>, env: NodeJS.ProcessEnv, invalid: (key: string | undefined, message: string) => LtError): string {
  if ((block.secret === undefined) === (block.secretEnv === undefined)) {
    throw invalid(undefined, 'needs exactly one of "secret" (the secret itself) and "secretEnv" (the environment variable holding it)');
  }
  if (block.secret !== undefined) {
    if (typeof block.secret !== 'string' || block.secret === '') throw invalid('secret', 'must be a non-empty string');
    return block.secret;
  }
  const name = block.secretEnv;
  if (typeof name !== 'string' || !ENV_NAME.test(name)) throw invalid('secretEnv', 'must be the name of an environment variable, e.g. "LT_AXIS_SECRET"');
  const secret = envSecret(env, name);
  if (secret === undefined || secret === '') throw invalid('secretEnv', `names ${name}, which is not set: set ${name}, or ${name}_FILE to a file holding the secret`);
  return secret;
}
