// The national exchange SDK's HTTP protocol (../shared/sdk-protocol.md), pure: both the edge's
// SDK door (server) and the hub's client of the national axis draw on it.
export { CALLS, EMPTY_JSON_BODY, SERVICE_TYPE, fileOfBody, sendEdocBody } from './calls.js';
export type { CallName, MessageType } from './calls.js';
export { asciiJson, failReply, isSuccess, okReply, readReply, receivedItems } from './replies.js';
export type { ReceivedListItem, SdkReply } from './replies.js';
export { PARAMETER_PREFIX, SDK_VERSION, SignedParameters, sdkFileHash, sdkTimestamp, signatureOf, signedCallHeaders, SYSTEM_ID_PATTERN, verifySignedCall } from './signing.js';
export type { CallToSign, RequestHeaders, SignedCall } from './signing.js';
export { TAKEN, sdkStatusDescription, sdkStatusOfCode, sdkStatusOfState, sdkUpdateOf, UPDATE_WORDS } from './status-words.js';
export type { SdkUpdate } from './status-words.js';
