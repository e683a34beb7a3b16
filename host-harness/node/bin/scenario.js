#!/usr/bin/env node
// Replays a scenario file with the Node host and prints the report as JSON,
// exactly like `host-harness scenario FILE.json [--report OUT.json]`.
// Exit status 0 when the scenario ran; 2 with a one-line error when the
// file is unreadable or invalid (the Rust host's words), or when the
// host-harness binary or the plugin component is not built (the line says
// the cargo command); 1 on any other failure. `--cargo` runs `cargo build
// -p host-harness` first. Logs go to stderr (SMARTLOCK_LOG=debug for more).

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { build } from '../scripts/build.js';
import { LoadedComponent } from '../src/host.js';
import { harnessBinary, NotBuilt } from '../src/locate.js';
import { InvalidScenario, runScenarioFile } from '../src/scenario.js';
import { readScenarioFile } from '../src/scenario-file.js';

function usage() {
  process.stderr.write('usage: scenario FILE.json [--report OUT.json] [--cargo]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let file = null;
let reportPath = null;
let cargo = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--report') reportPath = args[++i] ?? usage();
  else if (args[i] === '--cargo') cargo = true;
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
  // The file first, as the Rust host: a bad file is its one line whatever
  // is built. Its brand ids and connect fields are the component's (R30):
  // checked without them first, then (once the component is loaded) with
  // them, which gives the Rust host's words for the same file.
  let early = null;
  try {
    readScenarioFile(file, displayPath);
  } catch (e) {
    if (!(e instanceof InvalidScenario)) throw e;
    early = e;
  }
  // The transpiled component: cheap when gen/ is current (compares the
  // component's hash); with --cargo, `cargo build -p host-harness` first.
  let component;
  try {
    build({ cargo, silent: early !== null });
    component = await LoadedComponent.load();
  } catch (e) {
    throw early ?? e;
  }
  readScenarioFile(file, displayPath, component.brands);
  const binary = harnessBinary();
  // SMARTLOCK_INSTANCES=per-call makes a fresh instance for every call (slower; same answers).
  const instances = process.env.SMARTLOCK_INSTANCES || undefined;
  const report = await runScenarioFile(file, { displayPath, instances, binary, component });
  const text = JSON.stringify(report, null, 2);
  if (reportPath) {
    writeFileSync(reportPath, text + '\n');
    process.exit(0);
  } else {
    process.stdout.write(text + '\n', () => process.exit(0));
  }
} catch (e) {
  process.stderr.write(`error: ${String(e?.message ?? e).replace(/\n/g, ' ')}\n`);
  process.exit(e instanceof InvalidScenario || e instanceof NotBuilt ? 2 : 1);
}
