/**
 * Every door that runs inside an edge's process, for whoever runs an edge (`lienthong edge`,
 * the demo, tests): `new Edge(config, { adapters: EDGE_ADAPTERS })`. Each one does nothing
 * unless edge.json configures it.
 */
import type { EdgeAdapterFactory } from '../edge/edge.js';
import { folderAdapter } from './folder/index.js';
import { webhookAdapter } from './webhooks/adapter.js';

export const EDGE_ADAPTERS: readonly EdgeAdapterFactory[] = [webhookAdapter, folderAdapter];
