export { DEFAULT_VOLUME_LABEL, MAX_VOLUME_LABEL_LENGTH, validateVolumeLabel, VolumeLabelError } from './lib/volume-label.js';
export {
  APPLICATION_ID,
  IsoOptionError,
  layoutTree,
  resolveEpoch,
  writeIsoFromDirectory,
  writeIsoFromFiles,
  writeIsoTree,
  type IsoOptions,
  type IsoOutput,
} from './lib/build.js';
export { fileMapTree, type FileMap, type FileMapEntry } from './lib/file-map.js';
export { readDirectoryTree } from './lib/from-directory.js';
export { LayoutError, MAX_DIRECTORY_LEVELS, type Layout } from './lib/layout.js';
export { IsoNameError, isoName } from './lib/names.js';
export { JolietNameError, jolietName } from './lib/joliet.js';
export { PathTableError } from './lib/path-table.js';
export { TreeError, type DirectoryNode, type FileNode, type SymlinkNode, type TreeNode, type OwnershipPolicy } from './lib/tree.js';
export { IsoWriteError, type WriteStats } from './lib/writer.js';
