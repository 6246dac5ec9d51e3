# shellcheck shell=sh
# What an upload needs of a controller, asked by preflight (controller/upload-tools.ts) before anything is sent:
# the sha256 tool upload-receive.sh and file-sha256.sh will use (common/sha256.sh's choice, the same test), a `dd`
# that counts, seeks and skips in bytes (GNU coreutils, busybox), `truncate`, `mktemp` and `mkfifo`.
#
# Run as: sh -c "$UPLOAD_TOOLS_SH" vmctx-upload-tools
# stdout: `sha256 openssl`, `sha256 sha256sum` or `sha256 none`; then `fetch curl`, `fetch wget` or `fetch none`
#         (what fetch-receive.sh would fetch with: an image with `fetch: controller`); then a line `missing WHAT`
#         for each other tool missing or lacking what upload-receive.sh asks of it.
# Exit:   0.
if command -v openssl >/dev/null 2>&1; then echo "sha256 openssl"
elif command -v sha256sum >/dev/null 2>&1; then echo "sha256 sha256sum"
else echo "sha256 none"; fi
if command -v curl >/dev/null 2>&1; then echo "fetch curl"
elif command -v wget >/dev/null 2>&1; then echo "fetch wget"
else echo "fetch none"; fi
dd if=/dev/null of=/dev/null bs=65536 iflag=fullblock,count_bytes,skip_bytes count=0 skip=0 oflag=seek_bytes seek=0 conv=notrunc status=none 2>/dev/null \
  || echo "missing dd with iflag=fullblock,count_bytes,skip_bytes oflag=seek_bytes"
command -v truncate >/dev/null 2>&1 || echo "missing truncate"
command -v mktemp >/dev/null 2>&1 || echo "missing mktemp"
command -v mkfifo >/dev/null 2>&1 || echo "missing mkfifo"
exit 0
