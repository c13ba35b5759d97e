/** Credentials of a program that uses the national SDK: its system id and a shared HMAC secret. */
import type { SdkClientConfig } from '../../edge/config.js';
import { LtError } from '../../errors.js';
import { newSecret } from '../../ids.js';
import { SYSTEM_ID_PATTERN } from '../../sdk-protocol/index.js';


/**
 * A new client entry for edge.json `api.sdkClients`: a random secret of 256 bits, written in
 * ASCII (base64url), because the SDK keys its HMAC with the secret string's bytes as they are.
 */
export function newSdkClient(systemId: string): SdkClientConfig {
  if (!SYSTEM_ID_PATTERN.test(systemId)) {
    throw new LtError('USAGE', `the system id "${systemId}" cannot travel in the SDK's headers: use 1 to 100 printable ASCII characters without blanks`);
  }
  return { systemId, secret: newSecret(32) };
}
