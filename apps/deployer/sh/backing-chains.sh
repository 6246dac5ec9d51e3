# shellcheck shell=sh
# Every disk's backing chain, as qemu-img reads it (deploy/remove.ts filesInUse): what a base image or ISO must not
# be in use by before it is removed. The JSON is parsed in Node (through zod), not by a text tool.
#
# Run as: sh -c "$BACKING_CHAINS_SH" vmctx-backing DISK...
# stdout: per DISK, in order, a line `=== vmctx-disk STATUS`, then, unless STATUS is `missing`, what
#         `qemu-img info -U --backing-chain --output=json` printed (its stderr too): a JSON array, one object per
#         image of the chain, when STATUS is 0. STATUS is qemu-img's exit status, or `missing` for a DISK that is
#         not there (a domain defined over a missing file, or one removed meanwhile): it backs nothing.
# Exit:   0.
for f in "$@"; do
  if [ ! -e "$f" ]; then echo "=== vmctx-disk missing"; continue; fi
  out=$(qemu-img info -U --backing-chain --output=json -- "$f" 2>&1)
  echo "=== vmctx-disk $?"
  printf "%s\n" "$out"
done
