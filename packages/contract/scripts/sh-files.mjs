/**
 * What the deployer's and the guest script's shell files share at build and test time (not at run time): listing
 * them, shellcheck, the name of the constant a script is embedded as, and writing or checking the generated file.
 * Each project's scripts/embed-sh.mjs keeps only its own rule for turning a script into text (the controller's
 * scripts travel on one command line; the guest's take options between parts).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every .sh file under `dir`, its sub-folders included, sorted. */
export function shFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? shFiles(join(dir, entry.name)) : entry.name.endsWith('.sh') ? [join(dir, entry.name)] : []))
    .sort();
}

/** The scripts at the top of `dir` (names, sorted): each becomes one constant; sub-folders hold what they source. */
export function topScripts(dir) {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sh'))
    .sort();
}

/** upload-receive.sh: UPLOAD_RECEIVE_SH. */
export function constantName(file) {
  return `${file.replace(/\.sh$/, '').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_SH`;
}

/** shellcheck's findings on `file` (following what it sources), or on standard input ('-'); '' when there are none. */
export function shellcheck(file, input) {
  const result = spawnSync('shellcheck', ['-s', 'sh', '-x', '-P', 'SCRIPTDIR', file], { input, encoding: 'utf8' });
  if (result.error) throw new Error(`shellcheck could not run (is it installed?): ${result.error.message}`);
  return `${result.stdout}${result.stderr}${result.status === 0 ? '' : `exit status ${result.status}`}`;
}

/**
 * Writes `text` to `output`, or with `--check` among the arguments exits 1 when `output` is not `text` already (a
 * unit test runs the check), telling to run `fix`.
 */
export function writeOrCheck(output, text, argv, fix) {
  if (!argv.includes('--check')) {
    writeFileSync(output, text);
    return;
  }
  let current = '';
  try {
    current = readFileSync(output, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== text) {
    process.stderr.write(`${output} is not what the shell files give: ${fix}\n`);
    process.exit(1);
  }
}
