/**
 * The JSON Schemas of what clients hand to lienthong (schemas/api/*.json, one file per payload,
 * so that integrators can use them without reading TypeScript), and the one way both doors check
 * input against them: the REST API (through fastify, and for multipart metadata directly) and
 * the CLI (`build`, `send`). The same schema, the same Ajv options and the same sentence for the
 * first violation, so that a document refused at one door is refused in the same words at the
 * other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { LtError } from './errors.js';

/** The package root: one level up from src/ and dist/. */
export const PACKAGE_ROOT = new URL('../', import.meta.url);
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
    throw new LtError('CONFIG_INVALID', `the payload schemas are missing in ${API_SCHEMAS.pathname}; the package is incomplete`, {}, { cause: error });
  }
  cached = files.map((file) => {
    const schema = JSON.parse(readFileSync(new URL(file, API_SCHEMAS), 'utf8')) as JsonSchema;
    if (schema.$id !== file) throw new LtError('CONFIG_INVALID', `schemas/api/${file} must have "$id": "${file}"`, { path: `schemas/api/${file}` });
    return schema;
  });
  return cached;
}

/**
 * How payloads are checked: fastify's defaults (@fastify/ajv-compiler: types coerced as fastify
 * does, defaults filled in, the first error only, which keeps a hostile body cheap) except that
 * unknown properties are refused, not silently dropped (a misspelt field is an error). The REST
 * server passes these to fastify; `payloadViolation` uses them as they are.
 */
export const PAYLOAD_VALIDATION = {
  coerceTypes: 'array',
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
} as const;

/** The part of an Ajv error the sentences use. */
export interface SchemaErrorLike {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** One schema violation as a sentence and a field path: `body/to/0/organId must be string`. */
export function schemaViolation(part: string, error: SchemaErrorLike | undefined): { message: string; path: string } {
  const at = `${part}${error?.instancePath ?? ''}`;
  const property = error?.params?.missingProperty ?? error?.params?.additionalProperty;
  const extra = typeof error?.params?.additionalProperty === 'string' ? `: "${error.params.additionalProperty}"` : '';
  return {
    message: `${at} ${error?.message ?? 'does not match its schema'}${extra}`,
    path: `${at}${typeof property === 'string' ? `/${property}` : ''}`,
  };
}

// Ajv (66 CommonJS files) is loaded on the first check: an edge imports this module for its
// folder door and REST API, and holds the library in memory even when neither checks anything.
const require = createRequire(import.meta.url);
let ajv: Ajv.default | undefined;
const validators = new Map<string, ValidateFunction>();

function validatorOf(schemaId: string): ValidateFunction {
  let validate = validators.get(schemaId);
  if (validate) return validate;
  if (!ajv) {
    // Only input is checked here, and the input schemas use no `format` (fastify adds
    // ajv-formats for the query strings that do): formats are not validated, and strict: false
    // lets the other schemas' formats be added without the plugin.
    const { default: AjvClass } = require('ajv') as typeof Ajv;
    ajv = new AjvClass({ ...PAYLOAD_VALIDATION, strict: false, validateFormats: false });
    for (const schema of apiSchemas()) ajv.addSchema(schema);
  }
  validate = ajv.getSchema(schemaId);
  if (!validate) throw new LtError('INTERNAL', `no payload schema ${schemaId} in schemas/api/`);
  validators.set(schemaId, validate);
  return validate;
}

/**
 * Check `value` against the schema `schemaId` (a file of schemas/api/), coercing it in place as
 * fastify would. Returns the first violation, worded with `part` as the root of its path
 * (`body`, `metadata`), or undefined when the value fits.
 */
export function payloadViolation(schemaId: string, value: unknown, part: string): { message: string; path: string } | undefined {
  const validate = validatorOf(schemaId);
  if (validate(value)) return undefined;
  return schemaViolation(part, validate.errors?.[0]);
}
