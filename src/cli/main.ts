// The `googlenet` command line: the global options, and one command per file in commands/ (as
// git's builtin/). Every failure is one line on stderr and a non-zero exit.
import { Command } from 'commander';
import { backend } from '../tensor/tensor.js';
import { display } from '../util/display.js';
import { convOption, positiveInt, VERSION } from './args.js';
import { bench } from './commands/bench.js';
import { convert } from './commands/convert.js';
import { dashboard } from './commands/dashboard.js';
import { download } from './commands/download.js';
import { experiment } from './commands/experiment.js';
import { explore } from './commands/explore.js';
import { exportCommand } from './commands/export.js';
import { network } from './commands/network.js';
import { report } from './commands/report.js';
import { retry } from './commands/retry.js';
import { status } from './commands/status.js';
import { step } from './commands/step.js';
import { summary } from './commands/summary.js';
import { test } from './commands/test.js';
import { train } from './commands/train.js';
import { worker } from './commands/worker.js';

/** In the order `--help` lists them. */
const COMMANDS = [network, step, summary, train, experiment, explore, bench, test, worker, status, report, dashboard, convert, exportCommand, retry, download];

const program = new Command('googlenet')
  .description('Train and study GoogLeNet (Inception v1) and its variants on CIFAR, on oneDNN')
  .version(`googlenet ${VERSION}, oneDNN ${backend().version()} (${backend().cpuIsa()}), Node ${process.version}`, '--version', 'print the version (and oneDNN\'s, and the ISA it uses here)')
  .option('--threads <n>', 'compute threads (default: all cores)', positiveInt('--threads'))
  .addOption(convOption())
  .option('--quiet', 'no progress bar, no per-batch Train Epoch: lines, no status lines: only results (Test set: lines, --json), warnings and errors')
  .hook('preAction', (cmd, action) => {
    const threads = cmd.opts().threads as number | undefined;
    if (threads) backend().setThreads({ threads });
    display.quiet = !!cmd.opts().quiet;
    // --json output is for programs: plain lines on stderr too, even on a terminal
    display.plain = !!action.opts().json;
  })
  .showHelpAfterError(false)
  // --threads, --conv and --quiet in every command's help, where they may also be given
  .configureHelp({ showGlobalOptions: true })
  // our argument parsers name the flag and the value themselves: commander's own preamble would say it twice
  .configureOutput({ outputError: (str) => display.error(str.replace(/^error: /, '').replace(/^option '[^']+' argument '[^']*' is invalid\. /, '').trim()) });

// each command takes the program's help and output settings, as program.command() would give it
for (const cmd of COMMANDS) {
  program.addCommand(cmd.copyInheritedSettings(program));
  for (const sub of cmd.commands) sub.copyInheritedSettings(cmd);
}

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) {
    process.exitCode = e.exitCode ?? 1;
  } else {
    display.error(`googlenet: ${e.message ?? String(err)}`);
    if (process.env.GOOGLENET_DEBUG) display.around(() => console.error(err));
    process.exitCode = 1;
  }
}
