# shellcheck shell=sh
# Every domain of the controller as libvirt keeps it (controller/libvirt.ts listDomains, libvirtAndDomains): one
# round trip and two virsh processes however many domains there are. First the UUIDs, then one virsh that runs
# `domstate` and `dumpxml --inactive` for each in a batch (one libvirt connection instead of two per domain), after
# BEFORE: other virsh commands that the same process answers first (libvirtAndDomains: the version and
# capabilities). Each virsh runs under timeout(1): a libvirtd that hangs must not keep vmctx waiting for ever.
#
# Run as: sh -c "$LIST_DOMAINS_SH" vmctx-list-domains BEFORE READ_SECONDS BATCH_SECONDS
#   BEFORE         virsh commands, each ended by `;` (may be empty)
#   READ_SECONDS   the listing's time limit; BATCH_SECONDS each batch's (TERM then, KILL 5 s later)
# stdout: what BEFORE prints; then, when there is a domain, a line `=== vmctx-domains`, and per domain a line
#         `=== vmctx-domain UUID`, its state line, a blank line and its inactive XML (virsh's own output). A domain
#         undefined meanwhile (by another client) just has no XML: the reader leaves it out.
# Exit:   0 listed; the listing's status when it failed (124: it did not answer in time), virsh's message on stderr.
#
# virsh goes on after a failing command of a batch, and its status is its last command's: a failing batch is not an
# error here, while a failed listing is. A batch is one argument, and Linux bounds one argument to 128 KiB
# (MAX_ARG_STRLEN): a controller with thousands of domains gets one virsh per 200 of them (about 20 KiB each).
uuids=$(timeout -k 5 "$2" virsh list --all --uuid) || exit
batch="$1 echo === vmctx-domains;"
[ -n "$1$uuids" ] || batch=""
n=0
for u in $uuids; do
  batch="$batch echo === vmctx-domain $u; domstate --domain $u; dumpxml --inactive --domain $u;"
  n=$((n + 1))
  if [ "$n" -ge 200 ]; then timeout -k 5 "$3" virsh "$batch" || true; batch=""; n=0; fi
done
[ -z "$batch" ] || timeout -k 5 "$3" virsh "$batch" || true
