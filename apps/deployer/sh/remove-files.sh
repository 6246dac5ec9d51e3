# shellcheck shell=sh
# Removes the files vmctx wrote and that still are what it wrote (deploy/remove.ts removeOwnFiles); keeps the rest,
# and says why. Which paths may be asked about at all (directly in the image folder) is decided in Node first.
#
# Run as: sh -c "$REMOVE_FILES_SH" vmctx-remove
# stdin:  one line per file: IDENTITY|SHA256|PATH. IDENTITY is the identity recorded when the file landed
#         (common/file-identity.sh), or `partial` for a cut upload's kept part; SHA256 the content vmctx meant it to
#         have; either '' when unknown. '|' is not IFS white space, so an empty field stays a field, and the path,
#         last, keeps any '|' of its own.
# stdout: one line per file, in order: `removed`, `gone` (not there), or `kept WHY`.
# Exit:   0 (each file's answer is its line).
#
# stat and sha256sum read the path itself, not what a link points to; a link is never removed.
vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)
# shellcheck source=common/file-identity.sh
. "$vmctx_sh/common/file-identity.sh"

while IFS='|' read -r id sum p; do
  if [ -L "$p" ]; then echo "kept a symbolic link now"; continue; fi
  if [ ! -e "$p" ]; then echo gone; continue; fi
  if [ ! -f "$p" ]; then echo "kept not a regular file now"; continue; fi
  # A cut upload's kept part: removed unless an upload writes it now (it holds the part's flock).
  if [ "$id" = partial ]; then
    if command -v flock >/dev/null 2>&1 && ! flock -n "$p" true; then echo "kept an upload is writing it"; continue; fi
    if rm -f -- "$p"; then echo removed; else echo "kept rm failed"; fi
    continue
  fi
  # Its identity as recorded, else the content vmctx meant it to have.
  ok=""; now=""
  if [ -n "$id" ]; then now=$(file_identity "$p") && [ "$now" = "$id" ] && ok=1; fi
  if [ -z "$ok" ] && [ -n "$sum" ]; then s=$(sha256sum <"$p") && [ "${s%% *}" = "$sum" ] && ok=1; fi
  if [ -z "$ok" ]; then
    if [ -n "$id$sum" ]; then echo "kept not the file vmctx wrote (identity ${now:-?}${id:+, recorded $id})"; else echo "kept nothing recorded proves vmctx wrote it"; fi
    continue
  fi
  if rm -f -- "$p"; then echo removed; else echo "kept rm failed"; fi
done
