# shellcheck shell=sh
# Removes a deployment's record once it names no VM (deploy/state.ts writeState), and its folder when that is empty.
#
# Run as: sh -c "$STATE_REMOVE_SH" vmctx-state FOLDER PATH
#   FOLDER  <imageDir>/.vmctx; PATH the record in it
# Exit:   0 always (a record or folder that is not there is what was wanted).
rm -f -- "$2"
rmdir -- "$1" 2>/dev/null
true
