// The raw baseline of a packet's peak RSS: read the file and hash+sign (or verify) its bytes
// with node:crypto, nothing else. `node raw-crypto.mjs sign FILE KEY.pem` or
// `node raw-crypto.mjs verify FILE KEY.pem SIGNATURE-FILE`.
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [op, file, keyFile, signatureFile] = process.argv.slice(2);
const bytes = readFileSync(file);
const key = createPrivateKey(readFileSync(keyFile));
if (op === 'sign') sign('sha256', bytes, key);
else if (!verify('sha256', bytes, createPublicKey(key), readFileSync(signatureFile))) process.exit(1);
