import { describe, expect, it } from 'vitest';
import { captureIo, exitCodeOfRun } from './cli/capture-io.fixture.js';
import { createProgram } from './program.js';

describe('vmctx program', () => {
  it('prints its help with the package version', async () => {
    const program = createProgram().exitOverride();
    let out = '';
    program.configureOutput({ writeOut: (s) => (out += s) });
    await expect(program.parseAsync(['node', 'vmctx', '--version'])).rejects.toMatchObject({ code: 'commander.version' });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('vmctx usage errors (issue 12)', () => {
  const run = async (...args: string[]) => {
    const io = captureIo();
    const exitCode = await exitCodeOfRun(createProgram(io).parseAsync(args, { from: 'user' }));
    return { exitCode, out: io.out, err: io.err };
  };

  it.each([
    [[], 'error: missing command', 'vmctx [options] [command]', 'vmctx'],
    [['bogus'], "error: unknown command 'bogus'", 'vmctx [options] [command]', 'vmctx'],
    [['--bogus'], "error: unknown option '--bogus'", 'vmctx [options] [command]', 'vmctx'],
    [['help', 'bogus'], "error: unknown command 'bogus'", 'vmctx [options] [command]', 'vmctx'],
    [['context'], 'error: missing command', 'vmctx context [options] [command]', 'vmctx context'],
    [['context', 'bogus'], "error: unknown command 'bogus'", 'vmctx context [options] [command]', 'vmctx context'],
    [['context', 'iso', '--bogus', '-o', 'x.iso', 'c.yaml'], "error: unknown option '--bogus'", 'vmctx context iso [options] <input>', 'vmctx context iso'],
    [['context', 'iso', '-o', 'x.iso'], "error: missing required argument 'input'", 'vmctx context iso [options] <input>', 'vmctx context iso'],
    [['guest', 'script', '--timeout'], "error: option '--timeout <seconds>' argument missing", 'vmctx guest script [options]', 'vmctx guest script'],
    [['iso', '-o', 'x.iso'], "error: missing required argument 'folder'", 'vmctx iso [options] <folder>', 'vmctx iso'],
    [['template', 'lint', '--bogus'], "error: unknown option '--bogus'", 'vmctx template lint [options] [files...]', 'vmctx template lint'],
    [['disk', 'info'], "error: missing required argument 'filename'", 'vmctx disk info [options] <filename>', 'vmctx disk info'],
    [['deploy', '--bogus'], "error: unknown option '--bogus'", 'vmctx deploy [options]', 'vmctx deploy'],
  ])('vmctx %j: exit 2, the message, one usage line and a hint on stderr, not the whole help', async (args, message, usage, path) => {
    const { exitCode, out, err } = await run(...args);
    expect({ exitCode, out }).toEqual({ exitCode: 2, out: '' });
    expect(err).toBe(`${message}\nUsage: ${usage}\nsee '${path} --help'\n`);
  });

  it('follows a usage error an action finds (CLI_USAGE) with the same usage line and hint', async () => {
    const { exitCode, err } = await run('template', 'lint');
    expect(exitCode).toBe(2);
    expect(err).toBe("vmctx: give the files to lint (or --list) [CLI_USAGE]\nUsage: vmctx template lint [options] [files...]\nsee 'vmctx template lint --help'\n");
  });

  it.each([[['-h']], [['--help']], [['help']], [['help', 'context']], [['context', '--help']], [['context', 'iso', '-h']], [['help', 'iso']], [['iso', '--help']], [['guest', 'script', '--help']]])(
    'vmctx %j: the whole help on stdout, exit 0',
    async (args) => {
      const { exitCode, out, err } = await run(...args);
      expect({ exitCode, err }).toEqual({ exitCode: 0, err: '' });
      expect(out).toMatch(/^Usage: vmctx/);
      expect(out).toMatch(/Options:/);
    },
  );
});
