export {
  IsoBuilderError,
  ISO_ERROR_CODES,
  ISO_ERRORS,
  type IsoErrorCode,
} from './lib/errors.js';
export { DEFAULT_VOLUME_LABEL, MAX_VOLUME_LABEL_LENGTH, validateVolumeLabel } from './lib/volume-label.js';
export {
  APPLICATION_ID,
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
export { MAX_DIRECTORY_LEVELS, type Layout } from './lib/layout.js';
export { MAX_ISO_EPOCH } from './lib/encoding.js';
export { isoName } from './lib/names.js';
export { jolietName } from './lib/joliet.js';
export { type DirectoryNode, type FileNode, type SymlinkNode, type TreeNode, type OwnershipPolicy } from './lib/tree.js';
export { type WriteStats } from './lib/writer.js';
