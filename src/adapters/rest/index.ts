export { createEdgeApi, DEFAULT_RATE_LIMIT } from './server.js';
export type { EdgeApiOptions, RateLimitOptions } from './server.js';
export { newApiKey, hashApiKey } from './auth.js';
export { API_PREFIX, documentPath, attachmentPath } from './views.js';
export type { DocumentListJson, DocumentSummaryJson, DocumentViewJson, AttachmentJson, DeliveryJson, ChainDocumentJson, OverdueItemJson, PaperItemJson } from './views.js';
export type { StatusInputJson, RecallInputJson, FollowUpInputJson } from './lifecycle.js';
export type { ErrorBody } from './errors.js';
