/**
 * The README's table of deployment commands and each command's `--help` agree (issue 24: "the help, the READMEs
 * and the error-code table agree with what the CLI does, and a test checks that they do"): every option a command
 * has is in its row's synopsis or in the sentence that lists the options every deployment command takes, and no
 * row names an option its command does not have.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../program.js';
import { captureIo } from './capture-io.fixture.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const COMMANDS = ['check', 'deploy', 'plan', 'status', 'destroy'];

/** The long options named in a piece of the README (`--file`, `--no-detailed-exitcode`...), but --help. */
const optionsIn = (text: string) => new Set([...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]).filter((o) => o !== '--help'));

/** The sentence that lists what every deployment command takes. */
const common = optionsIn(/^Every deployment command [\s\S]*?\n\n/m.exec(readme)?.[0] ?? '');

/** The synopsis of a command's row: `| \`vmctx plan --file F [--prune] ...\` | what it does |`. */
function synopsis(command: string): Set<string> {
  const row = new RegExp(`^\\| \`vmctx ${command} ([^\`]*)\` \\|`, 'm').exec(readme);
  expect(row, `the README's table has no row for vmctx ${command}`).not.toBeNull();
  return optionsIn(row![1]!);
}

/** The long options of a command as commander knows them (what --help prints), without --help. */
function helpOptions(command: string): Set<string> {
  const found = createProgram(captureIo()).commands.find((c) => c.name() === command);
  expect(found, command).toBeDefined();
  return new Set(found!.options.map((o) => o.long!).filter((long) => long !== '--help'));
}

describe("the README's deployment commands and their --help", () => {
  it('names the options every deployment command takes', () => {
    expect([...common].sort()).toEqual(['--accept-new', '--cache', '--file', '--json', '--quiet', '--ssh-config']);
  });

  it.each(COMMANDS)('vmctx %s: every option is in its row or common, and its row names no other', (command) => {
    const help = helpOptions(command);
    const row = synopsis(command);
    expect([...help].filter((o) => !row.has(o) && !common.has(o)), 'options of --help the README does not give').toEqual([]);
    expect([...row].filter((o) => !help.has(o)), 'options of the README that --help does not have').toEqual([]);
    for (const o of common) expect(help.has(o), `${command} ${o}`).toBe(true);
  });
});
