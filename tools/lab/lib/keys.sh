# The lab's SSH client key and known_hosts, in the lab's state folder. ~/.ssh and the system's sshd
# configuration are never touched.

keys_init() {
  mkdir -p "$LAB_STATE"
  chmod 700 "$LAB_STATE"
  [ -f "$LAB_STATE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C vmctx-lab -f "$LAB_STATE/id_ed25519"
  # Every controller's sshd reads this file at each login: rewritten in place (cp truncates first), a `lab add` made
  # logins to the running controllers fail while it was empty ("All configured authentication methods failed").
  cmp -s "$LAB_STATE/id_ed25519.pub" "$LAB_STATE/authorized_keys" && return
  cp "$LAB_STATE/id_ed25519.pub" "$LAB_STATE/authorized_keys.$$" && mv -f "$LAB_STATE/authorized_keys.$$" "$LAB_STATE/authorized_keys"
}

# known_hosts lists each running controller's host key under the address a client dials. The temporary file is this
# call's own: two `lab add` at once (suites add their controllers in parallel) shared one name, and one could move
# the other's half-written list into place, losing a controller's key.
keys_known_hosts() {
  local name tmp
  tmp=$(mktemp "$LAB_STATE/known_hosts.XXXXXX") && chmod 644 "$tmp"
  for name in $(controller_names); do
    [ -f "$(lc_dir "$name")/ssh/host_ed25519.pub" ] || continue
    printf '[127.0.0.1]:%s %s\n' "$(lc_port "$name")" "$(cut -d' ' -f1,2 "$(lc_dir "$name")/ssh/host_ed25519.pub")" >>"$tmp"
  done
  mv "$tmp" "$LAB_STATE/known_hosts"
}

# lab_ssh NAME CMD...: strict host key checking against the lab's known_hosts (written before first use).
lab_ssh() {
  local name=$1; shift
  local kh=$LAB_STATE/known_hosts
  ssh -q -i "$LAB_STATE/id_ed25519" -o IdentitiesOnly=yes -o UserKnownHostsFile="$kh" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=5 -p "$(lc_port "$name")" root@127.0.0.1 "$@"
}
