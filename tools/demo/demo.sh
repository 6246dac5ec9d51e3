#!/usr/bin/env bash
# `npm run demo`: the main job on the local lab, from a fresh machine. Sets up what it needs (Debian packages,
# npm ci, build, the lab's guest), brings up two controllers, prepares the base image with
# `vmctx guest install`, and deploys examples/demo/deployment.yaml (5 VMs, one group of 3 sharing one
# IP-from-MAC context ISO), waiting until every guest says it was contextualized.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
say() { printf '\n[demo] %s\n' "$*" >&2; }

say "set-up (quick when already done)"
bash tools/setup/setup.sh
say "lab: two controllers, lc1 and lc2 (network and mount namespaces, libvirtd, sshd, bridge virbr0)"
tools/lab/lab up 2
say "base image: the lab guest with vmctx's contextualization (vmctx guest install)"
bash tools/demo/vmctx-base.sh >/dev/null
file=examples/demo/deployment.yaml
say "vmctx check --file $file"
node apps/deployer/bin/vmctx.js check --file "$file" --quiet
say "vmctx deploy --file $file --wait"
# The demo's VMs hold nothing of anyone's: a demo run again after vmctx or its base image changed replaces them
# (an operator's deploy asks first, or holds them: --allow-disk-loss).
node apps/deployer/bin/vmctx.js deploy --file "$file" --wait --timeout 300 --allow-disk-loss

cat >&2 <<EOM

[demo] Done. To look at it:
  npx vmctx deploy --file $file                  # again: nothing changes the second time
  npm run lab -- ssh lc2 virsh list               # the domains on lc2
  npm run lab -- ssh lc1 cat /var/lib/vmctx/images/web-1.console.log    # what web-1 printed at boot
  ip netns exec lc2 ping -c1 198.51.100.32        # worker-2, whose address is in its MAC
  npm run lab -- ssh lc2 virsh dumpxml worker-1   # its domain, with the deployment's <metadata> mark
To tear it all down:
  npm run lab -- down                             # stops the controllers and every VM on them
EOM
