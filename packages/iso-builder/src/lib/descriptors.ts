/**
 * ECMA-119 8.4 (Primary Volume Descriptor), 8.5 (Supplementary Volume Descriptor, here the Joliet one with
 * escape sequence "%/E", UCS-2 level 3) and 8.3 (Volume Descriptor Set Terminator).
 */
import { FLAG_DIRECTORY, writeDirectoryRecord } from './directory-record.js';
import { SECTOR_SIZE, writeBoth16, writeBoth32, writeLongDate, writePaddedAscii, writePaddedUcs2 } from './encoding.js';

/** ECMA-119 6.7.1: the volume descriptor set starts at logical sector 16, after the system area (6.2.1). */
export const VOLUME_DESCRIPTOR_SET_SECTOR = 16;
/** Sectors of our set: the primary descriptor, the Joliet supplementary descriptor and the terminator. */
export const VOLUME_DESCRIPTOR_SET_SECTORS = 3;

export interface VolumeFields {
  label: string;
  systemId: string;
  volumeSetId: string;
  publisherId: string;
  preparerId: string;
  applicationId: string;
  /** Volume space size in sectors (8.4.8). */
  totalSectors: number;
  pathTableSize: number;
  pathTableL: number;
  pathTableM: number;
  /** Extent and size of the root directory, and its recording date (the record of 8.4.18). */
  rootDirectory: { extent: number; size: number; date: number };
  /** Creation/modification/effective time; expiration is "not specified". */
  date: number;
}

function writeCommon(buf: Buffer, type: number, fields: VolumeFields, text: (o: number, l: number, s: string) => void): void {
  buf[0] = type; // 8.4.1 volume descriptor type
  buf.write('CD001', 1, 'latin1'); // 8.4.2 standard identifier
  buf[6] = 1; // 8.4.3 volume descriptor version
  text(8, 32, fields.systemId); // 8.4.5 system identifier
  text(40, 32, fields.label); // 8.4.6 volume identifier
  writeBoth32(buf, 80, fields.totalSectors); // 8.4.8 volume space size
  writeBoth16(buf, 120, 1); // 8.4.10 volume set size
  writeBoth16(buf, 124, 1); // 8.4.11 volume sequence number
  writeBoth16(buf, 128, SECTOR_SIZE); // 8.4.12 logical block size
  writeBoth32(buf, 132, fields.pathTableSize); // 8.4.13 path table size
  buf.writeUInt32LE(fields.pathTableL, 140); // 8.4.14 location of type L path table
  buf.writeUInt32LE(0, 144); // 8.4.15 optional type L path table: none
  buf.writeUInt32BE(fields.pathTableM, 148); // 8.4.16 location of type M path table
  buf.writeUInt32BE(0, 152); // 8.4.17 optional type M path table: none
  const root = fields.rootDirectory; // 8.4.18 directory record for root directory: 34 bytes, identifier 0x00 (6.8.2.2)
  writeDirectoryRecord(buf, 156, { extent: root.extent, size: root.size, date: root.date, flags: FLAG_DIRECTORY, identifier: Buffer.from([0]), systemUse: Buffer.alloc(0) });
  text(190, 128, fields.volumeSetId); // 8.4.19 volume set identifier
  text(318, 128, fields.publisherId); // 8.4.20 publisher identifier
  text(446, 128, fields.preparerId); // 8.4.21 data preparer identifier
  text(574, 128, fields.applicationId); // 8.4.22 application identifier
  text(702, 37, ''); // 8.4.23 copyright file identifier
  text(739, 37, ''); // 8.4.24 abstract file identifier
  text(776, 37, ''); // 8.4.25 bibliographic file identifier
  writeLongDate(buf, 813, fields.date); // 8.4.26 volume creation date and time
  writeLongDate(buf, 830, fields.date); // 8.4.27 volume modification date and time
  writeLongDate(buf, 847, null); // 8.4.28 volume expiration date and time: not specified
  writeLongDate(buf, 864, fields.date); // 8.4.29 volume effective date and time
  buf[881] = 1; // 8.4.30 file structure version
  buf.fill(0x20, 883, 883 + 512); // 8.4.32 application use (spaces, as genisoimage)
}

export function primaryVolumeDescriptor(fields: VolumeFields): Buffer {
  const buf = Buffer.alloc(SECTOR_SIZE);
  writeCommon(buf, 1, fields, (o, l, s) => writePaddedAscii(buf, o, l, s));
  return buf;
}

export function jolietVolumeDescriptor(fields: VolumeFields): Buffer {
  const buf = Buffer.alloc(SECTOR_SIZE);
  writeCommon(buf, 2, fields, (o, l, s) => writePaddedUcs2(buf, o, l, s));
  buf.write('%/E', 88, 'latin1'); // 8.5.6 escape sequences: Joliet UCS-2 level 3
  return buf;
}

export function terminatorDescriptor(): Buffer {
  const buf = Buffer.alloc(SECTOR_SIZE);
  buf[0] = 255; // 8.3.1 volume descriptor type: terminator
  buf.write('CD001', 1, 'latin1');
  buf[6] = 1;
  return buf;
}

/** The descriptors of one image: the primary volume and the Joliet volume, which share everything but their root. */
export interface VolumeDescriptors {
  primary: VolumeFields;
  joliet: VolumeFields;
}

/** The volume descriptor set (6.7.1), written from sector 16: PVD, Joliet SVD, terminator. */
export function volumeDescriptorSet(volumes: VolumeDescriptors): Buffer {
  return Buffer.concat([primaryVolumeDescriptor(volumes.primary), jolietVolumeDescriptor(volumes.joliet), terminatorDescriptor()]);
}
