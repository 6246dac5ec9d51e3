export { domainNameProblem, MAX_DOMAIN_NAME_BYTES } from './lib/domain-name.js';
