# shellcheck shell=sh
# The sha256 of a file on the controller (controller/upload.ts remoteSha256).
#
# Run as: sh -c "$FILE_SHA256_SH" vmctx-sha256 PATH
# stdout: the sum (64 hex digits) and a newline.
# Exit:   0 summed; 9 PATH is not a file (none there); else openssl's or sha256sum's failure, its message on stderr.
vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)
# shellcheck source=common/sha256.sh
. "$vmctx_sh/common/sha256.sh"

test -f "$1" || exit 9
sum=$(sha256_stdin <"$1") && echo "${sum%% *}"
