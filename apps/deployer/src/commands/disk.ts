/**
 * `vmctx disk`: qcow2 overlays and image inspection with qemu-img's common flags, so that a pipeline can swap
 * `qemu-img create -f qcow2 -F raw -b base.raw [-u] vm.qcow2 [SIZE]` for `vmctx disk create ...` and
 * `qemu-img info [--output=json] [--backing-chain]` for `vmctx disk info ...`.
 *
 * Exit codes from the kind of the error (cli/action.ts): 0 done, 1 failure (I/O), 2 bad usage or bad input (sizes,
 * paths, unsafe or corrupt images). `disk info` and `disk sha256` end as the tools they stand in for: 1 for an
 * image qemu-img could not open, 1 after a file sha256sum could not read (2 stays for bad usage). The disk-builder package is imported when a subcommand runs, to keep `vmctx` start-up lean.
 */
import { Command, Option } from 'commander';
import { action, formatError } from '../cli/action.js';
import { type CommandIo, processIo, withCliDefaults } from '../cli/command-io.js';
import { CliError, usage } from '../cli/errors.js';
import type { BackingFormat, ImageInfo } from '@vmctx/disk-builder';
import { hashFiles } from './disk-sha256.js';

/** `stdin` gives what `vmctx disk sha256 -` reads, asked for only then (a test gives its own). */
export function diskCommand(io: CommandIo = processIo, stdin: () => AsyncIterable<Uint8Array | string> = () => process.stdin): Command {
  const setup = (cmd: Command): Command => withCliDefaults(cmd, io);

  const disk = setup(new Command('disk')).description("qcow2 overlays and image inspection, with qemu-img's flags");

  setup(disk.command('create'))
    .description('write a qcow2 overlay on a backing file, byte for byte as qemu-img create')
    .addOption(new Option('-f <fmt>', 'image format').choices(['qcow2']).default('qcow2'))
    .addOption(new Option('-F <backing_fmt>', 'backing file format').choices(['raw', 'qcow2']))
    .option('-b <backing_file>', 'backing file, written as given (a relative path is relative to FILE)')
    .option('-u', 'unsafe: do not open the backing file (SIZE is then required)')
    .option('-o <options>', 'comma-separated options: cluster_size=N (512 to 2M, a power of two)')
    .option('-q', 'quiet: no "Formatting" line on stderr')
    .argument('<filename>', 'the overlay to write')
    .argument('[size]', 'virtual size: bytes or k, M, G, T, P, E (default: the backing file size)')
    .action(action(io, (filename: string, sizeText: string | undefined, opts: { f: string; F?: string; b?: string; u?: boolean; o?: string; q?: boolean }) =>
      create(io, filename, sizeText, opts),
    ));

  setup(disk.command('info'))
    .description('format, virtual size, backing file and features of an image (qemu-img info)')
    .addOption(new Option('--output <format>', 'output format').choices(['human', 'json']).default('human'))
    .option('--backing-chain', 'follow the backing chain as far as its files are present here')
    .addOption(new Option('-f <fmt>', 'read the image as this format, do not probe it').choices(['raw', 'qcow2']))
    .option('-U, --force-share', 'accepted for qemu-img compatibility: vmctx never locks an image')
    .argument('<filename>')
    .action(action(io, (filename: string, opts: InfoFlags) => info(io, filename, opts)));

  setup(disk.command('sha256'))
    .description('sha256 of files (- is standard input), in the lines sha256sum writes (sha256sum -c checks them)')
    .argument('[files...]', 'files to hash (default: standard input)')
    .action(action(io, async (files: string[]) => {
      const names = files.length > 0 ? files : ['-'];
      const { sha256File, sha256Stream } = await import('@vmctx/disk-builder');
      // Standard input is read once: a second '-' reads it empty, as sha256sum does.
      let stdinRead = false;
      const takeStdin = (): AsyncIterable<Uint8Array | string> => {
        const source = stdinRead ? (async function* () {})() : stdin();
        stdinRead = true;
        return source;
      };
      return hashFiles(io, names, { hashFile: (path) => sha256File(path), hashStdin: () => sha256Stream(takeStdin(), 'standard input') });
    }));

  return disk;
}

async function create(
  io: CommandIo,
  filename: string,
  sizeText: string | undefined,
  opts: { F?: string; b?: string; u?: boolean; o?: string; q?: boolean },
): Promise<void> {
  const db = await import('@vmctx/disk-builder');
  if (opts.b === undefined) throw usage('disk create writes overlays only: give the backing file with -b');
  if (opts.F === undefined) throw usage('give the backing file format with -F raw or -F qcow2 (QEMU refuses overlays without it)');
  const backingFormat = opts.F as BackingFormat;

  let clusterBits: number | undefined;
  for (const item of (opts.o ?? '').split(',').filter((s) => s !== '')) {
    const [key, value] = item.split('=', 2);
    if (key !== 'cluster_size' || value === undefined) throw usage(`unsupported -o option '${item}' (only cluster_size=N)`);
    const bytes = db.parseQemuSize(value);
    const bits = Math.log2(bytes);
    if (!Number.isInteger(bits) || bits < db.MIN_CLUSTER_BITS || bits > db.MAX_CLUSTER_BITS) {
      throw new db.DiskBuilderError('DISK_CLUSTER_SIZE_INVALID', `cluster_size ${value} must be a power of two between 512 and 2M`, { where: '-o cluster_size' });
    }
    clusterBits = bits;
  }

  let virtualSize = sizeText === undefined ? undefined : db.parseQemuSize(sizeText);
  if (opts.u) {
    if (virtualSize === undefined) throw new CliError('CLI_SIZE_REQUIRED', 'with -u the backing file is not opened: give the SIZE');
  } else {
    // As qemu-img: open the backing file (relative to the overlay's folder), check it, take its size.
    const local = db.localBackingPath(opts.b, filename);
    const chain = await db.inspectChain(local).catch((error: unknown) => {
      if (error instanceof db.DiskBuilderError && error.code === 'DISK_NOT_FOUND') {
        throw new CliError('CLI_BACKING_NOT_FOUND', `backing file ${local} is not here; to write the overlay anyway give -u and the SIZE`, { where: local, cause: error });
      }
      throw error;
    });
    const base = chain.images[0]!;
    if (base.format !== backingFormat) {
      throw new db.DiskBuilderError('DISK_BACKING_FORMAT_MISMATCH', `backing file ${local} is ${base.format}, not ${backingFormat} as -F says`, { where: local });
    }
    virtualSize ??= base.virtualSize;
  }

  const created = await db.createOverlay({ path: filename, backingFile: opts.b, backingFormat, virtualSize: virtualSize!, ...(clusterBits !== undefined ? { clusterBits } : {}) });
  if (!opts.q) {
    io.stderr(
      `Formatting '${filename}', fmt=qcow2 cluster_size=${created.clusterSize} extended_l2=off compression_type=zlib ` +
        `size=${created.virtualSize} backing_file=${opts.b} backing_fmt=${backingFormat} lazy_refcounts=off refcount_bits=16\n`,
    );
  }
}

interface InfoFlags {
  output: 'human' | 'json';
  backingChain?: boolean;
  f?: 'raw' | 'qcow2';
  forceShare?: boolean;
}

/**
 * qemu-img info: an image qemu-img opens is described as it describes it (a marked-corrupt one shows `corrupt:
 * true`); one it cannot open ends as qemu-img ends, `Could not open 'FILE': REASON` and exit 1, with our code and
 * the bytes at fault after QEMU's reason.
 */
async function info(io: CommandIo, filename: string, opts: InfoFlags): Promise<number> {
  const db = await import('@vmctx/disk-builder');
  const options = { purpose: 'info' as const, ...(opts.f ? { format: opts.f } : {}) };
  let images: ImageInfo[];
  try {
    if (opts.backingChain) {
      const chain = await db.inspectChain(filename, options);
      images = chain.images;
      if (chain.missing) io.stderr(`vmctx disk info: backing file ${chain.missing.path} is not present here; the chain stops before it\n`);
    } else {
      images = [await db.inspectImage(filename, options)];
    }
  } catch (error) {
    if (!(error instanceof db.DiskBuilderError)) throw error;
    const where = error.where ?? filename;
    const reason = error.message.startsWith(`${where}: `) ? error.message.slice(where.length + 2) : error.message;
    io.stderr(formatError(new db.DiskBuilderError(error.code, `Could not open '${where}': ${reason}`, { where, cause: error })));
    return 1;
  }
  if (opts.output === 'json') {
    const json = images.map(db.toQemuImgInfo);
    io.stdout(`${JSON.stringify(opts.backingChain ? json : json[0], null, 4)}\n`);
    return 0;
  }
  io.stdout(images.map((image) => humanInfo(image, db.formatQemuSize, db.localBackingPath)).join('\n'));
  return 0;
}

/** qemu-img info's human layout. */
function humanInfo(image: ImageInfo, size: (n: number) => string, combine: (file: string, overlay: string) => string): string {
  const lines = [
    `image: ${image.path}`,
    `file format: ${image.format}`,
    `virtual size: ${size(image.virtualSize)} (${image.virtualSize} bytes)`,
    `disk size: ${size(image.allocatedSize)}`,
  ];
  if (image.qcow2?.encryption) lines.push('encrypted: yes');
  if (image.clusterSize !== undefined) lines.push(`cluster_size: ${image.clusterSize}`);
  if (image.backing) {
    let full = image.backing.file;
    try {
      full = combine(image.backing.file, image.path);
    } catch {
      // a protocol name: shown as recorded
    }
    lines.push(full === image.backing.file ? `backing file: ${full}` : `backing file: ${image.backing.file} (actual path: ${full})`);
    if (image.backing.format !== undefined) lines.push(`backing file format: ${image.backing.format}`);
  }
  const q = image.qcow2;
  if (q) {
    lines.push('Format specific information:', `    compat: ${q.compat}`, `    compression type: ${q.compressionType}`);
    if (q.version >= 3) lines.push(`    lazy refcounts: ${q.lazyRefcounts}`);
    lines.push(`    refcount bits: ${q.refcountBits}`);
    if (q.encryption) lines.push('    encrypt:', `        format: ${q.encryption}`);
    if (q.dataFile) lines.push(`    data file: ${q.dataFile.name}`, `    data file raw: ${q.dataFile.raw}`);
    if (q.version >= 3) lines.push(`    corrupt: ${q.corrupt}`, `    extended l2: ${q.extendedL2}`);
  }
  return `${lines.join('\n')}\n`;
}
