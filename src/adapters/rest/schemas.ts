/**
 * The JSON Schemas of the REST payloads (schemas/api/*.json, read by src/payload-schemas.ts,
 * which the CLI checks its input with too) are added to fastify as shared schemas, referenced
 * from the routes by their `$id` (the file name).
 */
import type { FastifyInstance } from 'fastify';
import { apiSchemas } from '../../payload-schemas.js';

export { apiSchemas, type JsonSchema } from '../../payload-schemas.js';

export function addApiSchemas(app: FastifyInstance): void {
  for (const schema of apiSchemas()) app.addSchema(schema);
}

/** A `$ref` to a schema of schemas/api/ by file name. */
export function ref(file: string): { $ref: string } {
  return { $ref: `${file}#` };
}

/** The package version, for the OpenAPI document. */
export { packageVersion } from '../../version.js';
