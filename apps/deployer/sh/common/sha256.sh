# shellcheck shell=sh
# The sha256 of what a controller reads, by the fastest tool it has: `openssl dgst -sha256` (1.3 GB/s measured on
# the lab machine) where present, coreutils' `sha256sum` (340 MB/s) otherwise. Preflight (controller/digest-tool.ts,
# sh/digest-tool.sh) says which a controller has. Sourced by upload-receive.sh and file-sha256.sh.

# sha256_stdin: prints the sha256 of stdin in hex as the first word of its line (`-r`: coreutils' format).
if command -v openssl >/dev/null 2>&1; then
  sha256_stdin() { openssl dgst -sha256 -r; }
else
  sha256_stdin() { sha256sum; }
fi
