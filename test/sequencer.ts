import { basename } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order the end-to-end files start in. The suites whose work is one long chain that nothing can shorten (guest
 * boots one after another on the same disk: deployer-distro's three cloud-init boots, guest-distros' lanes) start
 * first, so that the short files fill the cores around them. Vitest's own order on a fresh clone (no cache: the
 * largest files first) started them once the large busybox suites were done, and deployer-distro's last boot then ran
 * alone at the end of CI's run with one core idle. Then Vitest's order (its cache where it has one, else size).
 */
const FIRST = ['guest-distros.lab.spec.ts', 'deployer-distro.lab.spec.ts'];

export default class LongChainsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const i = FIRST.indexOf(basename(spec.moduleId));
      return i < 0 ? FIRST.length : i;
    };
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: within a rank, Vitest's order stays.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
