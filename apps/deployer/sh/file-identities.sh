# shellcheck shell=sh
# The identities (common/file-identity.sh) of files on the controller: what says later that a file is still the one
# vmctx wrote or verified (controller/libvirt.ts fileIdentities, read by deploy/remove.ts).
#
# Run as: sh -c "$FILE_IDENTITIES_SH" vmctx-exists PATH...
# stdout: one line `IDENTITY PATH` for each PATH that exists (a link counts, and is not followed); none for one that
#         does not. A PATH whose identity stat cannot read has an empty IDENTITY (the line starts with a space).
# Exit:   0.
vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)
# shellcheck source=common/file-identity.sh
. "$vmctx_sh/common/file-identity.sh"

for f in "$@"; do
  if [ -e "$f" ] || [ -L "$f" ]; then printf "%s %s\n" "$(file_identity "$f")" "$f"; fi
done
true
