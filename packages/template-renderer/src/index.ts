export { domainNameProblem, MAX_DOMAIN_NAME_BYTES } from './lib/domain-name.js';
export { TemplateError, type TemplateErrorCode } from './lib/errors.js';
export {
  deriveIdentity,
  deriveMac,
  deriveUuid,
  IP_IN_MAC_DEFAULT_PREFIX,
  ipv4FromMac,
  isLocallyAdministeredMac,
  isMulticastMac,
  macFromIpv4,
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
