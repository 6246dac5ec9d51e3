/** The deployment file: read, checked and resolved into the Deployment the rest of the deployer uses. */
export type { ControllerConfig, Deployment, ImageConfig, VmConfig, VmContext, VmTemplate } from './types.js';
export { loadDeployment, parseDeployment, type LoadOptions } from './load.js';
export { DeploymentError, type LocatedProblem } from './problems.js';
export { deploymentJsonSchema } from './json-schema.js';
