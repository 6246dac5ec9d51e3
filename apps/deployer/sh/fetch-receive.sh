# shellcheck shell=sh
# A base image fetched by the controller itself from its URL (an image with `fetch: controller`; controller/fetch.ts),
# so that the operator's uplink is not the limit (issue 22): fetch, verify, publish, in one command, as
# upload-receive.sh does for an upload. curl where present (`-C -`: continues what a cut fetch left), wget otherwise
# (`-c`); either refuses to continue from a server that ignores ranges, and the fetch then starts again from
# nothing. The sha256 is the one published with the URL, of the whole file (common/sha256.sh: openssl where
# present), read back once the last byte is there. A half-fetched file never carries the final name.
#
# Run as: sh -c "$FETCH_RECEIVE_SH" vmctx-fetch PART SHA256 FINAL MODE SIZE URL
#   PART    the temporary file (upload.ts partialPath: beside FINAL, named after it and the content)
#   SHA256  the sum the whole file must have (hex); SIZE its size in bytes
#   FINAL   the final path; MODE its octal mode (chmod); URL an http(s) URL
# stdout: first `resume-from N`: the bytes kept at PART by a fetch that was cut (0 for none). On success, last,
#         FINAL's identity (common/file-identity.sh).
# stderr: why it failed (curl's or wget's message).
# Exit:   0 published; 3 a whole file with another sum or size, removed; 5 a read or write error, removed; 6 FINAL is
#         taken, PART removed; 7 the fetch failed or was cut, what arrived kept for the next one to continue;
#         8 neither curl nor wget is there.
vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)
# shellcheck source=common/file-identity.sh
. "$vmctx_sh/common/file-identity.sh"
# shellcheck source=common/sha256.sh
. "$vmctx_sh/common/sha256.sh"
# shellcheck source=common/partial-file.sh
. "$vmctx_sh/common/partial-file.sh"

umask 077
size=$5; url=$6
open_part "$1" "$size" || exit 5
echo "resume-from $have"

# fetch_rest: appends to PART what the URL holds past PART's size.
fetch_rest() {
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --max-redirs 5 --connect-timeout 20 -C - -o "$part" -- "$url"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -c -O "$part" -- "$url"
  else
    echo "neither curl nor wget is on the controller" >&2; return 8
  fi
}
fetch_rest; status=$?
if [ "$status" != 0 ]; then
  [ "$status" = 8 ] && { rm -f -- "$part"; exit 8; }
  got=$(stat -c %s -- "$part" 2>/dev/null) || got=0
  if [ "$keep" = yes ] && [ "$got" -gt 0 ] && [ "$got" -lt "$size" ]; then
    echo "the fetch of $url failed (exit $status) after $got of $size bytes; kept for the next one to continue" >&2; exit 7
  fi
  rm -f -- "$part"; echo "the fetch of $url failed (exit $status)" >&2; exit 7
fi
got=$(stat -c %s -- "$part") || { rm -f -- "$part"; exit 5; }
if [ "$got" != "$size" ]; then rm -f -- "$part"; echo "$url gave $got bytes, not $size" >&2; exit 3; fi
sum=$(sha256_stdin <"$part") || { rm -f -- "$part"; exit 5; }
sum=${sum%% *}
if [ "$sum" != "$2" ]; then rm -f -- "$part"; echo "sha256 on the controller is $sum" >&2; exit 3; fi
publish_part "$4" "$3"
