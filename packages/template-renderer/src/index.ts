export { domainNameProblem, MAX_DOMAIN_NAME_BYTES } from './lib/domain-name.js';
export { shellRiskyNameProblem } from './lib/lint-shell-name.js';
export { TEMPLATE_ERROR_CODES, TEMPLATE_ERRORS, TemplateError, type TemplateErrorCode } from './lib/errors.js';
export {
  deriveIdentity,
  deriveMac,
  deriveUuid,
  IP_IN_MAC_DEFAULT_PREFIX,
  ipv4FromMac,
  isLocallyAdministeredMac,
  isMulticastMac,
  macFromIpv4,
  macProblem,
  normalizeMac,
  parseMacOctets,
  uuidV5,
  VMCTX_UUID_NAMESPACE,
  type DeriveMacOptions,
  type MacAddress,
  type MacScheme,
  type Uuid,
  type VmIdentity,
} from './lib/identity.js';
export {
  domainSpecJsonSchema,
  domainSpecSchema,
  formatPath,
  parseDomainSpec,
  parseDomainSpecYaml,
  SpecError,
  type ConsoleSpec,
  type ContextSpec,
  type DiskSpec,
  type DiskTarget,
  type DomainSpec,
  type DomainSpecInput,
  type InterfaceSpec,
  type SerialSpec,
  type SpecIssue,
} from './lib/spec.js';
export { CONTEXT_DISK_ALIAS, contextTarget, renderDomainXml, withIdentity, type RenderOptions } from './lib/render.js';
export { domainSpecFromXml } from './lib/spec-from-xml.js';
export { cdromBus, isQ35 } from './lib/disk-targets.js';
export {
  findIsoDisk,
  importNativeTemplate,
  parseNativeTemplate,
  repairTemplate,
  rewriteTemplate,
  type ImportedTemplate,
  type NativeRewrite,
  type TemplateWarning,
} from './lib/native.js';
export {
  formatFinding,
  hasErrors,
  lintDomains,
  lintDomainXml,
  LINTS,
  type ExistingDomain,
  type Lintable,
  type LintCode,
  type LintFinding,
  type LintOptions,
  type LintSeverity,
} from './lib/lint.js';
export {
  HOST_ACCESS_CODES,
  hostAccessFindings,
  hostPathProblem,
  LIBVIRT_IMAGE_DIR,
  QEMU_NAMESPACE,
  type HostAccessCode,
  type HostAccessPolicy,
} from './lib/host-access.js';
export { MAX_TEMPLATE_BYTES, MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_ELEMENTS, parseXml, serializeXml, type XmlElement, type XmlNode, type XmlText } from './lib/xml-tree.js';
export { childAttr, elements, firstElement, getAttr, insertElement, newElement, setAttr, textOf } from './lib/xml-tree.js';
export { readTemplateFile } from './lib/template-file.js';
