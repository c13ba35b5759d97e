// Runs a command that must not outlive the test that started it, even when the test process is
// SIGKILLed (tap's timeout) and has no chance to clean up: `node tied-to-parent.mjs GRACE_MS
// command args...`, spawned with a stdin pipe and in a process group of its own (detached). The
// command runs in the same group. When stdin ends (the test process is gone, however it ended:
// the kernel closes its end of the pipe) the group gets SIGTERM (RabbitMQ and clamd stop
// cleanly on it), and SIGKILL after GRACE_MS. The wrapper exits with the command.
import { spawn } from 'node:child_process';

const [graceArg, command, ...args] = process.argv.slice(2);
const graceMs = Number(graceArg);
if (!command || !Number.isFinite(graceMs)) {
  process.stderr.write('usage: node tied-to-parent.mjs GRACE_MS command [args...]\n');
  process.exit(2);
}
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.once('error', (error) => {
  process.stderr.write(`tied-to-parent: cannot run ${command}: ${error.message}\n`);
  process.exit(127);
});

let ending = false;
function endGroup(why) {
  if (ending) return;
  ending = true;
  process.stderr.write(`tied-to-parent: ${why}; stopping ${command} (PID ${child.pid})\n`);
  // The wrapper leads the group: it outlives the SIGTERM to tell the SIGKILL, then dies with it.
  process.on('SIGTERM', () => {});
  try {
    process.kill(-process.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  setTimeout(() => {
    try {
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, graceMs);
}

process.stdin.on('end', () => endGroup('the test process that started it has gone'));
process.stdin.on('error', () => endGroup('its link to the test process broke'));
process.stdin.resume();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => endGroup(`${signal} received`));
