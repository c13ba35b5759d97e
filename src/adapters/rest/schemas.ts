/**
 * The JSON Schemas of the REST payloads live in schemas/api/*.json (so that integrators can
 * use them without reading TypeScript); they are read once at startup and added to fastify as
 * shared schemas, referenced from the routes by their `$id` (the file name).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { LtError } from '../../errors.js';

/** The package root: the same three levels up from src/adapters/rest/ and dist/adapters/rest/. */
const PACKAGE_ROOT = new URL('../../../', import.meta.url);
const API_SCHEMAS = new URL('schemas/api/', PACKAGE_ROOT);

export interface JsonSchema {
  $id: string;
  title?: string;
  [keyword: string]: unknown;
}

let cached: JsonSchema[] | undefined;

/** Every schema of schemas/api/, each with `$id` equal to its file name. */
export function apiSchemas(): JsonSchema[] {
  if (cached) return cached;
  let files: string[];
  try {
    files = readdirSync(API_SCHEMAS).filter((f) => f.endsWith('.json')).sort();
  } catch (error) {
    throw new LtError('CONFIG_INVALID', `the REST API schemas are missing in ${API_SCHEMAS.pathname}; the package is incomplete`, {}, { cause: error });
  }
  cached = files.map((file) => {
    const schema = JSON.parse(readFileSync(new URL(file, API_SCHEMAS), 'utf8')) as JsonSchema;
    if (schema.$id !== file) throw new LtError('CONFIG_INVALID', `schemas/api/${file} must have "$id": "${file}"`, { path: `schemas/api/${file}` });
    return schema;
  });
  return cached;
}

export function addApiSchemas(app: FastifyInstance): void {
  for (const schema of apiSchemas()) app.addSchema(schema);
}

/** A `$ref` to a schema of schemas/api/ by file name. */
export function ref(file: string): { $ref: string } {
  return { $ref: `${file}#` };
}

/** The package version, for the OpenAPI document. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
