#!/usr/bin/env node
// Replays a scenario file with the Node host and prints the report as JSON,
// exactly like `host-harness scenario FILE.json [--report OUT.json]`.
// Exit status 0 when the scenario ran, 2 with a one-line error when the
// file is unreadable or invalid, 1 on any other failure. Logs go to stderr
// (SMARTLOCK_LOG=debug for more).

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { build } from '../scripts/build.js';
import { InvalidScenario, runScenarioFile } from '../src/scenario.js';

function usage() {
  process.stderr.write('usage: scenario FILE.json [--report OUT.json]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let file = null;
let reportPath = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--report') reportPath = args[++i] ?? usage();
  else if (args[i] === '--') continue;
  else if (file === null) file = args[i];
  else usage();
}
if (!file) usage();
// `npm --prefix host-harness/node run scenario -- FILE` runs this in the
// package folder; relative paths are the caller's (npm's INIT_CWD).
const viaNpm = process.env.npm_lifecycle_event === 'scenario' && process.env.INIT_CWD;
const callerDir = viaNpm ? process.env.INIT_CWD : process.cwd();
const displayPath = file;
file = resolve(callerDir, file);
if (reportPath) reportPath = resolve(callerDir, reportPath);

try {
  // The transpiled component (and, if missing, the component itself).
  build(); // cheap when gen/ is current (compares the component's hash)
  // SMARTLOCK_INSTANCES=per-call makes a fresh instance for every call (slower; same answers).
  const instances = process.env.SMARTLOCK_INSTANCES || undefined;
  const report = await runScenarioFile(file, { displayPath, instances });
  const text = JSON.stringify(report, null, 2);
  if (reportPath) {
    writeFileSync(reportPath, text + '\n');
    process.exit(0);
  } else {
    process.stdout.write(text + '\n', () => process.exit(0));
  }
} catch (e) {
  process.stderr.write(`error: ${String(e?.message ?? e).replace(/\n/g, ' ')}\n`);
  process.exit(e instanceof InvalidScenario ? 2 : 1);
}
