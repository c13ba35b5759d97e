/** `lienthong <verb> …`: the command-line door to every part of lienthong. */
import type { Command, Io } from './command.js';
import { EXIT_OK, EXIT_USAGE } from './command.js';
import { VERBS } from './commands/index.js';

function overview(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length));
  const lines = VERBS.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`);
  return [
    'Usage: lienthong <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run "lienthong <command> --help" for the options of a command, "lienthong --version" for the version.',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    io.stdout.write(overview());
    return verb === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (verb === '--version' || verb === '-V') {
    const { packageVersion, schemaVersions } = await import('../version.js');
    const schemas = schemaVersions();
    io.stdout.write(`lienthong ${packageVersion()} (edge schema ${schemas.edge}, hub schema ${schemas.hub}; Node.js ${process.versions.node})\n`);
    return EXIT_OK;
  }
  const entry = VERBS.find((v) => v.name === verb);
  if (!entry) {
    io.stderr.write(`lienthong: unknown command "${verb}"; run "lienthong --help" for the list\n`);
    return EXIT_USAGE;
  }
  const command: Command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = (rest[0] !== undefined ? command.subcommandHelp?.[rest[0]] : undefined) ?? command.help;
    io.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return EXIT_OK;
  }
  return command.run(rest, io);
}
