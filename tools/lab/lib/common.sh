# Shared settings and helpers of the lab scripts (sourced, not run).
# Folders: the state of running controllers lives in $LAB_STATE (keys, known_hosts, per-controller roots,
# pid files, logs); the guest's kernel, initramfs and base image in $LAB_CACHE. Both are machine-wide so that
# a lab left behind by one checkout (or a crashed run) is found and recovered by the next.
LAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_STATE=${VMCTX_LAB_STATE:-/var/lib/vmctx-lab}
LAB_CACHE=${VMCTX_LAB_CACHE:-/var/cache/vmctx/lab}
LAB_SUBNET_PREFIX=198.51.100          # RFC 5737 documentation range; never leaves a controller's namespace
LAB_BRIDGE_ADDR=$LAB_SUBNET_PREFIX.1/24
LAB_SSH_BASE_PORT=2200                # controller i answers on 127.0.0.1:(2200+i)
LAB_IMAGES=/var/lib/vmctx/images      # the image folder as a controller sees it (bind-mounted per controller)
LAB_HTTP_PORT=8480                    # the lab's HTTP server: http://127.0.0.1:8480/ here and on each controller
LAB_HTTP=$LAB_STATE/http              # its folder: files/ (what it serves), sock, pid, log

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces, libvirtd)"; }

# pid_alive PIDFILE EXPECTED-COMMAND: true when the recorded process runs and is the command we started
# (a recycled pid belonging to something else is never touched).
pid_alive() {
  local pid; pid=$(recorded_pid "$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# The pid in a pid file, or nothing (daemons remove their own pid file as they exit).
recorded_pid() { tr -dc '0-9' 2>/dev/null <"$1" || true; }

# stop_pid PIDFILE EXPECTED-COMMAND: TERM, wait up to 5 s, then KILL; only the recorded process (the KILL too: the
# pid is checked with its start time, so a number the process left and another took is never killed).
stop_pid() {
  local file=$1 want=$2 pid start i
  pid=$(recorded_pid "$file")
  if pid_alive "$file" "$want" && start=$(process_start "$pid"); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do running "$pid" "$start" || break; sleep 0.1; done
    running "$pid" "$start" && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# running PID [START]: the process exists, is not a zombie waiting for its parent, and (with START, from
# process_start) is still the one that started then. Pids are few (pid_max 32768 here) and a busy machine reuses a
# freed one within minutes, for a process or a thread (/proc/TID exists too): CI twice saw a controller's process
# "survive" lab down for the whole wait while its number belonged to something else.
running() {
  local want=${2-} fields
  fields=$(stat_fields "$1") || return 1
  # shellcheck disable=SC2086 # the fields, one word each
  set -- $fields
  [ "$1" != Z ] && { [ -z "$want" ] || [ "${20}" = "$want" ]; }
}

# stat_fields PID: the fields of /proc/PID/stat after the command name, which is in parentheses and may hold
# spaces and parentheses (proc(5)): state, ppid, ... (field 3 of stat is the first here, field 22, starttime, the 20th).
stat_fields() {
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" && [ -n "$stat" ] || return 1
  printf '%s\n' "${stat##*) }"
}
# shellcheck disable=SC2086 # the fields, one word each
process_state() { local f; f=$(stat_fields "$1") && set -- $f && echo "$1"; }
# process_start PID: when the process started (clock ticks after boot): with the pid, who it is.
# shellcheck disable=SC2086 # the fields, one word each
process_start() { local f; f=$(stat_fields "$1") && set -- $f && echo "${20}"; }

# process_summary PID: its command line and state, for a message (empty when it has just gone).
process_summary() {
  local cmd; cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || true
  echo "${cmd:-$(cat "/proc/$1/comm" 2>/dev/null)}, state $(process_state "$1")"
}

# detach LOG CMD...: start a daemon in its own session with no tie to our stdin/stdout, so that no test
# runner waits on an open pipe; prints its pid.
detach() {
  local logfile=$1; shift
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $!
}

controller_names() {
  local d
  for d in "$LAB_STATE"/lc*/; do [ -d "$d" ] && basename "$d"; done
}

# What libvirtd needs from the machine before it starts (LAB.md): the package's post-install did not create
# the user and groups here, and libvirtd refuses to start without them.
lab_prereqs() {
  local c
  for c in libvirtd virtlogd virsh sshd socat dnsmasq qemu-system-x86_64 mke2fs nsenter; do
    command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || die "$c is missing: run tools/setup/setup.sh (as root) first"
  done
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -G kvm -s /usr/sbin/nologin libvirt-qemu
}
