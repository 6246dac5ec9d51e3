/** What the layout's phases (walk.ts, records.ts, place.ts, render.ts) take and give that layout.ts exports. */
import type { AttributePolicy, FileData } from '../tree.js';

export interface LayoutOptions {
  label: string;
  policy: AttributePolicy;
  /** Date of the volume descriptors, in seconds. */
  volumeDate: number;
  /** `error`: directories below level 8 are refused; `allow`: written where they are (genisoimage -D). */
  deepDirectories: 'error' | 'allow';
  applicationId: string;
  /**
   * How Rock Ridge entries that fit their record are written: `fast` (writePlainEntries, straight into the
   * directory) or `entries` (the entry encoders, as every other record). The bytes are the same
   * (layout.spec.ts proves it for any tree); `entries` exists for that proof.
   */
  encoder?: 'fast' | 'entries';
}

/** One run of file data to copy: `size` bytes of `data` at sector `sector`. */
export interface FileExtent {
  path: string;
  sector: number;
  size: number;
  data: FileData;
}
