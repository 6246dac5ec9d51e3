/**
 * The image in three phases with data between them, each reading what the one before gave and changing none
 * of it. Walking (layout/walk.ts) makes the directories and entries of the source tree, named and ordered;
 * placing (layout/place.ts, with layout/records.ts) assigns every structure to sectors and every record to its
 * offset, from metadata only (names, sizes, attributes); rendering (layout/render.ts) turns that placement
 * into the bytes of the path tables, directories and continuation areas. The volume descriptors are the
 * writer's (from `volumes`), and so is file data, which is not read here: the writer copies it afterwards, in
 * the order given by `files`.
 *
 * Sector map (ECMA-119 6.2 / 8): 0-15 system area, 16 PVD, 17 Joliet SVD, 18 terminator, then the L and M
 * path tables of the primary tree and of the Joliet tree, the primary directories (each followed by the
 * Rock Ridge continuation areas of its records), the Joliet directories, the file data (once per inode: hard
 * links share it), and 150 sectors of padding (as genisoimage pads, so that readers that read ahead past the
 * last file do not fail).
 */
import { placeTree } from './layout/place.js';
import { renderMetadata } from './layout/render.js';
import type { FileExtent, LayoutOptions } from './layout/types.js';
import { walkTree } from './layout/walk.js';
import type { VolumeDescriptors } from './descriptors.js';
import type { DirectoryNode } from './tree.js';

export { placeTree, type Placement } from './layout/place.js';
export { extentSizes, MAX_EXTENT_BYTES } from './layout/records.js';
export { renderMetadata } from './layout/render.js';
export type { FileExtent, LayoutOptions } from './layout/types.js';
export { MAX_DIRECTORY_LEVELS, walkTree, type Tree } from './layout/walk.js';

export interface Layout {
  /**
   * Sectors 0 .. metadataSectors-1: path tables, directories and continuation areas. The system area and the
   * volume descriptor set (sectors 16-18) are zeros here: the writer writes the descriptors from `volumes`.
   */
  metadata: Buffer;
  volumes: VolumeDescriptors;
  /** File data in ascending sector order, after the metadata. */
  files: FileExtent[];
  totalSectors: number;
}

/** Walks, places and renders: the layout the writer writes (descriptors from `volumes`, then the files' data). */
export function computeLayout(root: DirectoryNode, options: LayoutOptions): Layout {
  const placement = placeTree(walkTree(root, options), options);
  return { metadata: renderMetadata(placement), volumes: placement.volumes, files: [...placement.files], totalSectors: placement.totalSectors };
}
