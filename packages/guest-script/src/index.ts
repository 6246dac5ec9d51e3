export { formatKeyValue, parseKeyValue } from './lib/key-value.js';
export { GUEST_ERROR_CODES, GUEST_ERRORS, GuestScriptError, type GuestScriptErrorCode } from './lib/errors.js';
export {
  ContextSchema,
  NetworkSchema,
  contentBytes,
  parseContext,
  parseContextYaml,
  type Context,
  type ContextInput,
  type Network,
} from './lib/context.js';
export { contextualizationScript, DEFAULT_DEVICES, DEFAULT_LABEL, optionsHeader, resolveGuestScriptOptions, type GuestScriptOptions } from './lib/guest-script.js';
export { NETWORK_KEYS, postInstallScript } from './lib/post-install.js';
export { DEFAULT_MAC_PREFIX, networkEntries, networkFile, routesFile } from './lib/network-file.js';
export { buildContextTree, instanceIdOf } from './lib/context-tree.js';
export { checkFileMapPaths, writeFileMap, type FileEntry, type FileMap } from './lib/file-map.js';
export { contextTreeProblems, listContextFolder, readContextFolder, readListedFile, type ListedFile } from './lib/snooze-import.js';
export { readContextSource, refuseFolderFormat, type ContextSource } from './lib/context-source.js';
export { contextIsEmpty, refuseEmptyContext } from './lib/context-empty.js';
export { checkContextText, contentSizeProblem, readContextText } from './lib/context-size.js';
export { MAX_CONTENT_BYTES, MAX_CONTEXT_BYTES } from './lib/context-limits.js';
export {
  freshRcLocal,
  installerFiles,
  installInto,
  installPlan,
  installScript,
  rcLocalWithCall,
  RC_LOCAL_PATH,
  SCRIPT_PATH,
  systemdUnit,
  UNIT_PATH,
  UNIT_WANTS_PATH,
  type InstallCondition,
  type InstallOptions,
  type InstallStep,
  type PlannedStep,
} from './lib/installer.js';
export { rcLocalWithoutCall, uninstallFrom } from './lib/uninstaller.js';
export {
  REAPPLY_TIMER_PATH,
  REAPPLY_TIMER_WANTS_PATH,
  REAPPLY_UNIT_PATH,
  reapplyTimer,
  reapplyUnit,
  UDEV_RULE_PATH,
  udevRule,
} from './lib/reapply-units.js';
export { buildCdTree, CD_FORMATS, readOperatorFiles, type CdFormat } from './lib/cloud-init/cd-layouts.js';
export { noCloudFiles, sharedInstanceId, type OperatorCloudConfig, type OperatorFile } from './lib/cloud-init/nocloud.js';
export { networkConfig, type NetworkConfigV2 } from './lib/cloud-init/network-config.js';
export { CLOUD_INIT_CONTEXT_DIR, CLOUD_INIT_RUNNER, userDataConfig, type CloudConfig } from './lib/cloud-init/user-data.js';
export { mergeNetworkConfig, mergeUserData } from './lib/cloud-init/merge.js';
