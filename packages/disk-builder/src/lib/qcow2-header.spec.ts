import { describe, expect, it } from 'vitest';
import {
  decodeFeatureNameTable,
  decodeHeader,
  encodeFeatureNameTable,
  encodeHeaderExtension,
  HeaderExtensionType,
  QCOW2_V3_HEADER_LENGTH,
  QEMU_FEATURE_NAMES,
  writeHeaderFields,
  type Qcow2HeaderFields,
} from './qcow2-header.js';

const fields = (over: Partial<Qcow2HeaderFields> = {}): Qcow2HeaderFields => ({
  version: 3,
  backingFileOffset: 0,
  backingFileSize: 0,
  clusterBits: 16,
  size: 5 * 2 ** 30,
  cryptMethod: 0,
  l1Size: 10,
  l1TableOffset: 3 * 65536,
  refcountTableOffset: 65536,
  refcountTableClusters: 1,
  nbSnapshots: 0,
  snapshotsOffset: 0,
  incompatibleFeatures: 0n,
  compatibleFeatures: 1n,
  autoclearFeatures: 2n,
  refcountOrder: 4,
  headerLength: QCOW2_V3_HEADER_LENGTH,
  compressionType: 1,
  ...over,
});

/** A header cluster: fields, then the given extensions, then an end extension, then an optional name. */
function cluster(f: Qcow2HeaderFields, exts: Uint8Array[] = [], name?: string, size = 4096): Uint8Array {
  const out = new Uint8Array(size);
  writeHeaderFields(new DataView(out.buffer), f);
  let at = f.version === 3 ? f.headerLength : 72;
  for (const e of [...exts, encodeHeaderExtension({ type: HeaderExtensionType.END, data: new Uint8Array(0) })]) {
    out.set(e, at);
    at += e.length;
  }
  if (name !== undefined) {
    const bytes = Buffer.from(name);
    out.set(bytes, at);
    new DataView(out.buffer).setBigUint64(8, BigInt(at));
    new DataView(out.buffer).setUint32(16, bytes.length);
  }
  return out;
}

describe('qcow2 header fields', () => {
  it('writes each field at the byte range qcow2.rst gives it', () => {
    const out = new Uint8Array(112);
    const view = new DataView(out.buffer);
    expect(writeHeaderFields(view, fields({ backingFileOffset: 0x210, backingFileSize: 16 }))).toBe(112);
    expect(Buffer.from(out.subarray(0, 4)).toString('latin1')).toBe('QFI\xfb');
    expect(view.getUint32(4)).toBe(3);
    expect(view.getBigUint64(8)).toBe(0x210n);
    expect(view.getUint32(16)).toBe(16);
    expect(view.getUint32(20)).toBe(16);
    expect(view.getBigUint64(24)).toBe(5n * 2n ** 30n);
    expect(view.getUint32(36)).toBe(10);
    expect(view.getBigUint64(40)).toBe(196608n);
    expect(view.getBigUint64(48)).toBe(65536n);
    expect(view.getUint32(56)).toBe(1);
    expect(view.getBigUint64(80)).toBe(1n);
    expect(view.getBigUint64(88)).toBe(2n);
    expect(view.getUint32(96)).toBe(4);
    expect(view.getUint32(100)).toBe(112);
    expect(out[104]).toBe(1);
    expect([...out.subarray(105)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('round-trips through decodeHeader, with backing name, format and feature table', () => {
    const exts = [
      encodeHeaderExtension({ type: HeaderExtensionType.BACKING_FORMAT, data: Buffer.from('qcow2') }),
      encodeHeaderExtension({ type: HeaderExtensionType.FEATURE_TABLE, data: encodeFeatureNameTable(QEMU_FEATURE_NAMES) }),
    ];
    const d = decodeHeader(cluster(fields(), exts, '../base image.raw', 65536), 'x.qcow2');
    expect(d.fields).toMatchObject({ version: 3, clusterBits: 16, size: 5 * 2 ** 30, l1Size: 10, compressionType: 1, autoclearFeatures: 2n });
    expect(d.backingFile).toBe('../base image.raw');
    expect(d.backingFormat).toBe('qcow2');
    expect(d.featureNames).toEqual(QEMU_FEATURE_NAMES);
    expect(d.extensions.map((e) => e.type)).toEqual([HeaderExtensionType.BACKING_FORMAT, HeaderExtensionType.FEATURE_TABLE]);
    expect(d.extensions[0]?.offset).toBe(112);
  });

  it('reads version 2 headers with their implied defaults', () => {
    const d = decodeHeader(cluster(fields({ version: 2 }), [], 'base'), 'v2');
    expect(d.fields).toMatchObject({ version: 2, refcountOrder: 4, headerLength: 72, incompatibleFeatures: 0n, compatibleFeatures: 0n });
    expect(d.backingFile).toBe('base');
  });

  it('pads extensions to 8 bytes and stores the length unpadded', () => {
    const e = encodeHeaderExtension({ type: HeaderExtensionType.BACKING_FORMAT, data: Buffer.from('raw') });
    expect(Buffer.from(e).toString('hex')).toBe('e2792aca00000003' + '7261770000000000');
  });

  it('encodes the feature name table as QEMU 7.2 does: 8 entries of 48 bytes', () => {
    const t = encodeFeatureNameTable(QEMU_FEATURE_NAMES);
    expect(t.length).toBe(384);
    expect(Buffer.from(t.subarray(0, 11)).toString('latin1')).toBe('\x00\x00dirty bit');
    expect([t[5 * 48], t[5 * 48 + 1]]).toEqual([1, 0]); // lazy refcounts: compatible bit 0
    expect([t[7 * 48], t[7 * 48 + 1]]).toEqual([2, 1]); // raw external data: autoclear bit 1
    expect(decodeFeatureNameTable(t)).toEqual(QEMU_FEATURE_NAMES);
  });
});

describe('decodeHeader refuses broken headers', () => {
  const good = cluster(fields(), [], 'base.raw');
  it('a header shorter than 72 bytes', () => {
    expect(() => decodeHeader(good.subarray(0, 50), 'short.qcow2')).toThrow(expect.objectContaining({ code: 'DISK_TRUNCATED', message: expect.stringContaining('short.qcow2') }));
  });
  it('a version 3 header cut before byte 104', () => {
    expect(() => decodeHeader(good.subarray(0, 90), 'v3')).toThrow(expect.objectContaining({ code: 'DISK_TRUNCATED' }));
  });
  it('a wrong magic', () => {
    const bad = good.slice();
    bad[3] = 0xfa;
    expect(() => decodeHeader(bad, 'm')).toThrow(expect.objectContaining({ code: 'DISK_CORRUPT_HEADER' }));
  });
  it('an unknown version', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(4, 4);
    expect(() => decodeHeader(bad, 'v')).toThrow(expect.objectContaining({ code: 'DISK_UNSUPPORTED_VERSION' }));
  });
  it.each([8, 22])('cluster bits %i', (bits) => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(20, bits);
    expect(() => decodeHeader(bad, 'c')).toThrow(expect.objectContaining({ code: 'DISK_CORRUPT_HEADER', message: expect.stringContaining('cluster_bits') }));
  });
  it.each([100, 108, 113])('header_length %i', (length) => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(100, length);
    expect(() => decodeHeader(bad, 'h')).toThrow(expect.objectContaining({ code: 'DISK_CORRUPT_HEADER', message: expect.stringContaining('header_length') }));
  });
  it('an extension longer than the first cluster', () => {
    const bad = cluster(fields({ clusterBits: 9 }), [], undefined, 512);
    new DataView(bad.buffer).setUint32(112, 0x12345678);
    new DataView(bad.buffer).setUint32(116, 600);
    expect(() => decodeHeader(bad, 'e')).toThrow(expect.objectContaining({ code: 'DISK_CORRUPT_HEADER', message: expect.stringContaining('past the first cluster') }));
  });
  it('extensions cut by the end of the file', () => {
    const ext = encodeHeaderExtension({ type: HeaderExtensionType.BACKING_FORMAT, data: Buffer.from('raw') });
    expect(() => decodeHeader(cluster(fields(), [ext]).subarray(0, 120), 'x')).toThrow(expect.objectContaining({ code: 'DISK_TRUNCATED' }));
  });
  it('a backing name past the end of the file, or longer than 1023 bytes', () => {
    expect(() => decodeHeader(good.subarray(0, 125), 'n')).toThrow(expect.objectContaining({ code: 'DISK_TRUNCATED', message: expect.stringContaining('backing file name') }));
    const long = good.slice();
    new DataView(long.buffer).setUint32(16, 1024);
    expect(() => decodeHeader(long, 'n')).toThrow(expect.objectContaining({ code: 'DISK_CORRUPT_HEADER', message: expect.stringContaining('1023') }));
  });
  it('an unaligned L1 table offset', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setBigUint64(40, 65537n);
    expect(() => decodeHeader(bad, 'l1')).toThrow(expect.objectContaining({ code: 'DISK_CORRUPT_HEADER', message: expect.stringContaining('l1_table_offset') }));
  });
});
