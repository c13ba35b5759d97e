/** File access for the doors (CLI, config loading): every failure becomes an IO error naming the file. */
import { readFile, writeFile, rename } from 'node:fs/promises';
import { LtError } from './errors.js';

export async function readInput(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new LtError('IO', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { path });
  }
}

export async function readJsonFile<T>(path: string): Promise<T> {
  const bytes = await readInput(path);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (error) {
    throw new LtError('USAGE', `${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
}

/** Write through a temporary file and rename, so a failed run never leaves half a file. */
export async function writeOutput(path: string, data: string | Uint8Array, mode?: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, data, mode === undefined ? {} : { mode });
    await rename(temporary, path);
  } catch (error) {
    throw new LtError('IO', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { path });
  }
}
