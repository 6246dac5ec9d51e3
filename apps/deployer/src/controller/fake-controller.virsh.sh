#!/bin/sh
# Test support (fake-controller.fixture.ts): a fake virsh. A domain is $VMCTX_FAKE_STATE/domains/NAME.xml (its
# inactive XML as defined), NAME.state and NAME.uuid. fail-define, fail-start and fail-undefine in the state
# folder list the domains for which that verb fails. Shell builtins where they do: the unit suite runs
# hundreds of these on busy machines.
S="$VMCTX_FAKE_STATE"
D="$S/domains"
printf '%s\n' "virsh $*" >>"$S/virsh.log" 2>/dev/null
if [ -f "$S/libvirt-down" ]; then echo 'error: failed to connect to the hypervisor' >&2; exit 1; fi

# listed FILE WORD: WORD is a line of FILE.
listed() {
  [ -f "$1" ] || return 1
  while IFS= read -r x; do [ "$x" = "$2" ] && return 0; done <"$1"
  return 1
}

# find_domain NAME-OR-UUID: sets n to the domain's name, or exits as virsh does.
find_domain() {
  if [ -f "$D/$1.xml" ]; then n=$1; return 0; fi
  for f in "$D"/*.uuid; do
    [ -f "$f" ] || continue
    read -r u <"$f"
    if [ "$u" = "$1" ]; then n=${f##*/}; n=${n%.uuid}; return 0; fi
  done
  echo "error: failed to get domain '$1'" >&2
  exit 1
}

# stopped NAME: a domain that stops loses its live definition.
stopped() { rm -f "$D/$1.live" "$D/$1.mem" "$D/$1.vcpus" "$D/$1.id"; }

# max_kib FILE: the domain's <memory> in KiB (its unit KiB, MiB or GiB; KiB when none).
max_kib() {
  sed -n "s/.*<memory\(.*\)>\([0-9]*\)<\/memory>.*/\2|\1/p" "$1" | {
    IFS='|' read -r value unit
    case "$unit" in *MiB*|*"'M'"*) echo $((value * 1024)) ;; *GiB*|*"'G'"*) echo $((value * 1048576)) ;; *) echo "$value" ;; esac
  }
}

# live_xml NAME: the live definition, with the balloon (currentMemory) and online vCPUs set since its start, and
# the domain id of this start on <domain> (as libvirt writes it: id='N', new at every start).
live_xml() {
  mem=; vcpus=; id=
  [ -f "$D/$1.mem" ] && read -r mem <"$D/$1.mem"
  [ -f "$D/$1.vcpus" ] && read -r vcpus <"$D/$1.vcpus"
  [ -f "$D/$1.id" ] && read -r id <"$D/$1.id"
  awk -v mem="$mem" -v vcpus="$vcpus" -v id="$id" -v q="'" '
    id != "" && !done && /<domain[ >]/ { sub(/<domain/, "<domain id=" q id q); done = 1 }
    mem != "" && /<currentMemory/ { next }
    vcpus != "" && /<vcpu/ { sub(/<vcpu[^>]*>/, "<vcpu current=" q vcpus q ">") }
    { print }
    mem != "" && /<memory/ { print "  <currentMemory unit=" q "KiB" q ">" mem "</currentMemory>" }
  ' "$D/$1.live"
}

# swap_media FILE TARGET SOURCE: the <source file=> of the disk whose <target dev=> is TARGET; 1 when there is none.
swap_media() {
  if awk -v target="$2" -v source="$3" -v q="'" '
    /<disk/ { inside = 1; n = 0 }
    inside {
      buf[++n] = $0
      if (index($0, "dev=" q target q) || index($0, "dev=\"" target "\"")) hit = 1
      if (/<\/disk>/) {
        for (i = 1; i <= n; i++) { if (hit) sub("<source file=[\"" q "][^\"" q "]*[\"" q "]", "<source file=" q source q, buf[i]); print buf[i] }
        if (hit) found = 1
        inside = 0; hit = 0
      }
      next
    }
    { print }
    END { exit found ? 0 : 1 }
  ' "$1" >"$1.new"; then mv "$1.new" "$1"; else rm -f "$1.new"; return 1; fi
}

# A batch, as `virsh "cmd1; cmd2"` runs it: each command in turn, going on after one that fails (virsh's echo
# included).
st=0
case "$#:$1" in
  1:*';'*)
    batch=$1
    IFS=';'
    set -f
    for c in $batch; do
      unset IFS
      # shellcheck disable=SC2086 # the command's words, as virsh splits them
      set -- $c
      if [ "$1" = echo ]; then shift; printf '%s\n' "$*"; st=0; elif [ $# -gt 0 ]; then sh "$0" "$@"; st=$?; fi
      IFS=';'
    done
    # virsh's status is its last command's.
    exit "${st:-0}" ;;
esac

cmd="$1"; shift
# virsh takes the domain as --domain X as well as bare (vmctx always passes --domain).
case "$cmd:$1" in
  dumpxml:--inactive) shift; [ "$1" = --domain ] && shift; set -- --inactive "$@" ;;
  *:--domain) shift ;;
esac
case "$cmd" in
  version)
    echo 'Compiled against library: libvirt 9.0.0'
    echo 'Using library: libvirt 9.0.0'
    echo 'Using API: QEMU 9.0.0'
    echo 'Running hypervisor: QEMU 7.2.0' ;;
  capabilities)
    echo '<capabilities>'
    echo '  <host><cpu><arch>x86_64</arch></cpu></host>'
    echo "  <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>"
    echo "  <guest><os_type>hvm</os_type><arch name='aarch64'><domain type='tcg-only'/></arch></guest>"
    echo '</capabilities>' ;;
  list)
    for f in "$D"/*.uuid; do [ -f "$f" ] && read -r u <"$f" && printf '%s\n' "$u"; done
    true ;;
  domstate)
    find_domain "$1"
    read -r s <"$D/$n.state"
    printf '%s\n' "$s" ;;
  dumpxml)
    # Without --inactive, a running domain's live definition: as it was started, with what setmem, setvcpus and
    # change-media --live changed since.
    if [ "$1" = --inactive ]; then shift; find_domain "$1"; cat "$D/$n.xml"; exit 0; fi
    find_domain "$1"
    if [ -f "$D/$n.live" ]; then live_xml "$n"; else cat "$D/$n.xml"; fi ;;
  setmem)
    # setmem DOMAIN --size NKiB --live: the balloon, within the maximum the domain was started with.
    find_domain "$1"; size=${3%KiB}
    [ -f "$D/$n.live" ] || { echo "error: Requested operation is not valid: domain is not running" >&2; exit 1; }
    max=$(max_kib "$D/$n.live")
    [ "$size" -le "$max" ] || { echo "error: invalid argument: cannot set memory higher than max memory" >&2; exit 1; }
    echo "$size" >"$D/$n.mem" ;;
  setvcpus)
    # setvcpus DOMAIN --count N --live: online vCPUs, within the maximum.
    find_domain "$1"
    [ -f "$D/$n.live" ] || { echo "error: Requested operation is not valid: domain is not running" >&2; exit 1; }
    max=$(sed -n 's/.*<vcpu[^>]*>\([0-9]*\)<\/vcpu>.*/\1/p' "$D/$n.live")
    [ "$3" -le "$max" ] || { echo "error: invalid argument: requested vcpus is greater than max allowable vcpus for the live domain: $3 > $max" >&2; exit 1; }
    echo "$3" >"$D/$n.vcpus" ;;
  change-media)
    # change-media DOMAIN --path TARGET --source FILE --update --live --config: the medium of that drive, in the
    # live definition (a running domain) and the persistent one.
    find_domain "$1"; target=$3; source=$5
    # $S/tray-locked holds how many more times the guest keeps its tray locked (as udev's probe does after a boot).
    if [ -f "$S/tray-locked" ]; then
      read -r locked <"$S/tray-locked"
      if [ "$locked" -gt 0 ]; then
        echo $((locked - 1)) >"$S/tray-locked"
        printf "error: Failed to complete action update on media\nerror: operation failed: timed out waiting to open tray of '%s'\n" "$target" >&2
        exit 1
      fi
    fi
    swap_media "$D/$n.xml" "$target" "$source" || { echo "error: No disk found whose source path or target is $target" >&2; exit 1; }
    [ ! -f "$D/$n.live" ] || swap_media "$D/$n.live" "$target" "$source"
    echo 'Successfully updated media.' ;;
  define)
    t="$D/.incoming.$$"
    n=; u=
    while IFS= read -r line || [ -n "$line" ]; do
      printf '%s\n' "$line"
      case "$line" in *"<name>"*) [ -z "$n" ] && { n=${line#*<name>}; n=${n%%</name>*}; } ;; esac
      case "$line" in *"<uuid>"*) [ -z "$u" ] && { u=${line#*<uuid>}; u=${u%%</uuid>*}; } ;; esac
    done <"$1" >"$t"
    if listed "$S/fail-define" "$n"; then rm -f "$t"; echo "error: XML error: $n refused" >&2; exit 1; fi
    mv "$t" "$D/$n.xml"
    printf '%s\n' "$u" >"$D/$n.uuid"
    [ -f "$D/$n.state" ] || echo 'shut off' >"$D/$n.state"
    echo "Domain '$n' defined from $1" ;;
  start)
    find_domain "$1"
    if listed "$S/fail-start" "$n"; then echo "error: Failed to start domain '$n'" >&2; exit 1; fi
    echo running >"$D/$n.state"
    cp "$D/$n.xml" "$D/$n.live"; rm -f "$D/$n.mem" "$D/$n.vcpus"
    # libvirt's domain ids count the starts of the daemon's domains.
    last=0; [ -f "$S/last-domid" ] && read -r last <"$S/last-domid"
    echo $((last + 1)) >"$S/last-domid"; echo $((last + 1)) >"$D/$n.id"
    echo "Domain '$n' started" ;;
  destroy)
    find_domain "$1"
    echo 'shut off' >"$D/$n.state"; stopped "$n"
    echo "Domain '$n' destroyed" ;;
  shutdown)
    # A guest that heeds ACPI powers off; one listed in $S/ignore-shutdown (no acpid, as the lab's busybox guest) does not.
    find_domain "$1"
    listed "$S/ignore-shutdown" "$n" || { echo 'shut off' >"$D/$n.state"; stopped "$n"; }
    echo "Domain '$n' is being shutdown" ;;
  undefine)
    find_domain "$1"
    if listed "$S/fail-undefine" "$n"; then echo "error: cannot undefine '$n'" >&2; exit 1; fi
    rm -f "$D/$n.xml" "$D/$n.state" "$D/$n.uuid"; stopped "$n"
    echo "Domain '$n' has been undefined" ;;
  domifaddr)
    # domifaddr DOMAIN --source SOURCE: a running domain's addresses as libvirt prints them, from
    # $D/NAME.addr-SOURCE (rows a test writes); the header alone when there is none.
    find_domain "$1"
    [ -f "$D/$n.live" ] || { echo 'error: Requested operation is not valid: domain is not running' >&2; exit 1; }
    echo ' Name       MAC address          Protocol     Address'
    echo '-------------------------------------------------------------------------------'
    if [ -f "$D/$n.addr-$3" ]; then cat "$D/$n.addr-$3"; fi ;;
  net-info)
    [ -f "$S/networks/$1" ] || { echo "error: Network not found: no network with matching name '$1'" >&2; exit 1; }
    cat "$S/networks/$1" ;;
  *)
    echo "fake virsh: unknown command $cmd" >&2; exit 2 ;;
esac
