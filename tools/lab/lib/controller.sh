# One local controller (LC) = a network namespace + a mount namespace holding its own virtlogd, libvirtd,
# sshd and dnsmasq, and a forwarder from 127.0.0.1:(2200+i) on the host to its sshd (LAB.md).
#
# $LAB_STATE/lcI/ holds everything of controller I:
#   run/ lib/ etc/ log/          bind-mounted over /run/libvirt /var/lib/libvirt /etc/libvirt ... inside it
#                                ($LAB_CACHE/libvirt/lcI over /var/cache/libvirt, kept across restarts)
#   vmctx/                       bind-mounted over /var/lib/vmctx (images/ is where VMs' files go)
#   ssh/                         its sshd's config and host key
#   pids/                        one file per process we started (the only ones `down` stops)
#   logs/                        daemon output
#   bridge                       the name of its bridge ("" when started without one)

lc_dir() { echo "$LAB_STATE/$1"; }
lc_port() { echo $((LAB_SSH_BASE_PORT + ${1#lc})); }

# The daemons of a controller, as "pidfile command" pairs (the command is matched against /proc/PID/cmdline).
lc_processes() {
  local r; r=$(lc_dir "$1")
  echo "$r/pids/forward socat"
  echo "$r/pids/http socat"
  echo "$r/pids/dnsmasq dnsmasq"
  echo "$r/pids/sshd sshd"
  echo "$r/run/libvirtd.pid libvirtd"
  echo "$r/run/virtlogd.pid virtlogd"
}

lc_healthy() {
  local name=$1 r pidfile cmd
  r=$(lc_dir "$name")
  [ -f "$r/ready" ] || return 1
  while read -r pidfile cmd; do
    [ "$cmd" = dnsmasq ] && [ -z "$(cat "$r/bridge" 2>/dev/null)" ] && continue
    pid_alive "$pidfile" "$cmd" || return 1
  done < <(lc_processes "$name")
  ip netns list | grep -qw "^$name" || return 1
}

# Stop exactly what we started for this controller, then remove its namespace and state. Fails if any of
# those processes survives (a lab that is down leaves no process, namespace or mount behind).
lc_down() {
  local name=$1 r pidfile cmd pid start ours=()
  r=$(lc_dir "$name")
  # Guests first, through their own libvirtd, so that qemu exits cleanly.
  if pid_alive "$r/pids/sshd" sshd; then
    lc_exec "$name" sh -c 'for d in $(virsh -q list --name 2>/dev/null); do virsh destroy "$d" >/dev/null 2>&1; done' || true
  fi
  while read -r pidfile cmd; do
    pid=$(recorded_pid "$pidfile")
    # Each as pid:start time, so that the wait below follows this process and not whatever takes its number next.
    pid_alive "$pidfile" "$cmd" && start=$(process_start "$pid") && ours+=("$pid:$start")
    stop_pid "$pidfile" "$cmd"
  done < <(lc_processes "$name")
  # qemu processes that libvirtd started for this controller's guests (their pid files are in its run/).
  for pidfile in "$r"/run/qemu/*.pid; do [ -f "$pidfile" ] && stop_pid "$pidfile" qemu-system; done
  if ip netns list | grep -qw "^$name"; then
    # Anything still in the namespace was started by us (sessions of its sshd, guests): none may survive it.
    for pid in $(ip netns pids "$name" 2>/dev/null); do
      start=$(process_start "$pid") && ours+=("$pid:$start") && kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns del "$name"
  fi
  # A killed process can take seconds to go on a loaded machine (a guest's memory to free, its exit scheduled
  # behind five TCG guests): wait up to 60 s. Only one that a KILL cannot end (stuck in the kernel) is left after
  # that, and it is reported with its state. (Two CI failures here, after 10 s and after 60 s, were most likely
  # a reused pid, which the start time now tells apart, not a slow exit.)
  for pid in "${ours[@]}"; do
    start=${pid#*:} pid=${pid%%:*}
    for _ in $(seq 600); do running "$pid" "$start" || break; sleep 0.1; done
    if running "$pid" "$start"; then
      die "$name: process $pid ($(process_summary "$pid")) survived lab down"
    fi
  done
  ! ip netns list | grep -qw "^$name" || die "$name: network namespace still present"
  rm -rf "$r"
}

# Run a command inside a running controller (both of its namespaces), as its sshd sessions do.
lc_exec() {
  local name=$1; shift
  local pid; pid=$(recorded_pid "$(lc_dir "$name")/pids/sshd")
  nsenter -t "$pid" -m -n -- "$@"
}

lc_write_libvirt_config() {
  local etc=$1
  mkdir -p "$etc/qemu"
  # Only what this controller's libvirtd needs; the machine's /etc/libvirt is never changed.
  cp /etc/libvirt/libvirt.conf "$etc/" 2>/dev/null || true
  cat >"$etc/qemu.conf" <<'CONF'
# The lab runs guests as root without a security driver (no AppArmor/SELinux labels in namespaces).
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
CONF
  cat >"$etc/libvirtd.conf" <<'CONF'
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
log_outputs = "3:stderr"
CONF
  echo 'log_outputs = "3:stderr"' >"$etc/virtlogd.conf"
}

lc_write_sshd_config() {
  local r=$1
  mkdir -p "$r/ssh"
  [ -f "$r/ssh/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$(basename "$r")" -f "$r/ssh/host_ed25519"
  cat >"$r/ssh/sshd_config" <<CONF
# sshd of lab controller $(basename "$r"): inside its namespaces, reachable only through the host forwarder.
ListenAddress 127.0.0.1
Port 22
HostKey $r/ssh/host_ed25519
PidFile $r/pids/sshd
AuthorizedKeysFile $LAB_STATE/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 64
MaxStartups 64:30:128
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
CONF
}

# lc_up NAME [BRIDGE]: start controller NAME with a bridge of that name ("" for none; default virbr0).
lc_up() {
  local name=$1 bridge=${2-virbr0} r port pid
  r=$(lc_dir "$name"); port=$(lc_port "$name")
  if lc_healthy "$name" && [ "$(cat "$r/bridge")" = "$bridge" ]; then
    log "$name already up (127.0.0.1:$port)"; return 0
  fi
  lc_down "$name"
  log "starting $name (127.0.0.1:$port, bridge ${bridge:-none})"
  # libvirtd's cache (its probe of qemu's capabilities takes seconds) outlives the controller.
  mkdir -p "$r"/{run,lib,etc,log/qemu,vmctx/images,pids,logs,home} "$LAB_CACHE/libvirt/$name"
  echo "$bridge" >"$r/bridge"
  lc_write_libvirt_config "$r/etc"
  lc_write_sshd_config "$r"
  keys_known_hosts
  mkdir -p /run/sshd /var/lib/vmctx /run/libvirt /var/lib/libvirt /etc/libvirt /var/log/libvirt /var/cache/libvirt

  ip netns add "$name"
  ip -n "$name" link set lo up
  if [ -n "$bridge" ]; then
    ip -n "$name" link add "$bridge" type bridge
    ip -n "$name" addr add "$LAB_BRIDGE_ADDR" dev "$bridge"
    ip -n "$name" link set "$bridge" up
  fi

  # The mount namespace lives as long as the daemons started in it.
  ip netns exec "$name" unshare -m --propagation private sh -c '
    set -e
    r=$1
    mount --bind "$r/run" /run/libvirt
    mount --bind "$r/lib" /var/lib/libvirt
    mount --bind "$r/etc" /etc/libvirt
    mount --bind "$r/log" /var/log/libvirt
    mount --bind "$2" /var/cache/libvirt
    mount --bind "$r/vmctx" /var/lib/vmctx
    # Its own root home, as a separate host has: sshd runs commands through root'"'"'s bash, which reads
    # ~/.bashrc; this machine'"'"'s own (pyenv init) made every remote command take about a second.
    mount --bind "$r/home" /root
    setsid virtlogd -d -p /run/libvirt/virtlogd.pid </dev/null >>"$r/logs/virtlogd.log" 2>&1
    setsid libvirtd -d -p /run/libvirt/libvirtd.pid </dev/null >>"$r/logs/libvirtd.log" 2>&1
    setsid /usr/sbin/sshd -f "$r/ssh/sshd_config" -E "$r/logs/sshd.log" </dev/null >>"$r/logs/sshd.log" 2>&1
  ' lab "$r" "$LAB_CACHE/libvirt/$name" || die "$name: starting its daemons failed (logs in $r/logs)"

  if [ -n "$bridge" ]; then
    pid=$(detach "$r/logs/dnsmasq.log" ip netns exec "$name" dnsmasq --keep-in-foreground --conf-file=/dev/null \
      --interface="$bridge" --bind-interfaces --except-interface=lo --port=0 \
      --dhcp-range="$LAB_SUBNET_PREFIX.50,$LAB_SUBNET_PREFIX.99,1h" --dhcp-leasefile="$r/dnsmasq.leases" \
      --pid-file="$r/pids/dnsmasq.own" --user=root --log-dhcp)
    echo "$pid" >"$r/pids/dnsmasq"
  fi
  pid=$(detach "$r/logs/forward.log" socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
    "EXEC:ip netns exec $name socat STDIO TCP\\:127.0.0.1\\:22")
  echo "$pid" >"$r/pids/forward"
  # The lab's HTTP server on the controller's own 127.0.0.1 (lab_http_up: its Unix socket crosses namespaces).
  lab_http_up
  pid=$(detach "$r/logs/http.log" ip netns exec "$name" socat "TCP-LISTEN:$LAB_HTTP_PORT,bind=127.0.0.1,reuseaddr,fork" \
    "UNIX-CONNECT:$LAB_HTTP/sock")
  echo "$pid" >"$r/pids/http"
}

# The lab's HTTP server (tools/lab/http-server.mjs), one for the whole lab, started with the first controller:
# files put in $LAB_HTTP/files are http://127.0.0.1:$LAB_HTTP_PORT/NAME here and, through each controller's
# forwarder, there (images with `fetch: controller`). Stopped by a whole `lab down`.
lab_http_up() {
  local pid i
  pid_alive "$LAB_HTTP/pid" http-server.mjs && return 0
  mkdir -p "$LAB_HTTP/files"
  pid=$(detach "$LAB_HTTP/log" node "$LAB_HOME/http-server.mjs" "$LAB_HTTP/files" "$LAB_HTTP_PORT" "$LAB_HTTP/sock")
  echo "$pid" >"$LAB_HTTP/pid"
  for i in $(seq 100); do [ -S "$LAB_HTTP/sock" ] && return 0; sleep 0.05; done
  die "the lab's HTTP server did not start (see $LAB_HTTP/log)"
}

lab_http_down() {
  stop_pid "$LAB_HTTP/pid" http-server.mjs
  rm -rf "$LAB_HTTP"
}

lc_wait_ready() {
  local name=$1 r i
  r=$(lc_dir "$name")
  for i in $(seq 100); do
    if [ -S "$r/run/libvirt-sock" ] && pid_alive "$r/pids/sshd" sshd && lab_ssh "$name" virsh -q version >/dev/null 2>&1; then
      touch "$r/ready"; return 0
    fi
    sleep 0.2
  done
  die "$name did not come up: see $r/logs/"
}
