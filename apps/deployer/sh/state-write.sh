# shellcheck shell=sh
# Writes a deployment's record on the controller (deploy/state.ts writeState): a temporary file beside the target,
# then rename, so that a reader never sees half a record. The temporary name is this write's own (two runs never
# share it) and made with noclobber (set -C: an existing file or a link planted there fails the write instead of
# being written through); mv -T renames onto the record's own name, never into a folder or through a link found
# there. The file is the connecting user's alone (umask 077); the folder, made before that, has the umask the
# login gives.
#
# Run as: sh -c "$STATE_WRITE_SH" vmctx-state FOLDER TEMP PATH
#   FOLDER  <imageDir>/.vmctx, made when missing; TEMP the temporary file in it; PATH the record
# stdin:  the record's bytes.
# Exit:   0 written; 1 not written (the failing command's message on stderr), TEMP removed.
if ! { mkdir -p -- "$1" && umask 077 && set -C && cat >"$2" && mv -fT -- "$2" "$3"; }; then rm -f -- "$2"; exit 1; fi
