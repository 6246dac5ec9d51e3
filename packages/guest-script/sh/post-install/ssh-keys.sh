# shellcheck shell=sh disable=SC2154
# SSH keys: ssh/authorized_keys and AUTHORIZED_KEYS added, once each, to SSH_USER's (root's by default)
# ~/.ssh/authorized_keys. Part of post-install.sh; uses `root`, `ctx` and `state_dir`.

install_keys() {
  ik_source=$ctx/ssh/authorized_keys
  if [ ! -f "$ik_source" ] && [ -z "$AUTHORIZED_KEYS" ]; then return 0; fi
  ik_user=${SSH_USER:-root}
  is_user "$ik_user" || { problem "SSH_USER is not a user name"; return 1; }
  ik_found=
  if [ -f "$root/etc/passwd" ]; then
    while IFS=: read -r ik_name _ ik_uid ik_gid _ ik_home _; do
      if [ "$ik_name" = "$ik_user" ]; then ik_found=1; break; fi
    done <"$root/etc/passwd"
  fi
  [ -n "$ik_found" ] || { problem "user $ik_user does not exist; SSH keys not installed"; return 1; }
  case $ik_home in /*) ;; *) problem "home of $ik_user is not an absolute path"; return 1 ;; esac
  if ! is_number "$ik_uid" || ! is_number "$ik_gid"; then problem "bad uid or gid for $ik_user in /etc/passwd"; return 1; fi
  ik_dir=$root$ik_home/.ssh
  ik_file=$ik_dir/authorized_keys
  if ! (umask 077 && mkdir -p "$ik_dir" && chmod 700 "$ik_dir"); then problem "cannot make $ik_dir"; return 1; fi
  if [ ! -f "$ik_file" ]; then (umask 077 && : >"$ik_file"); fi
  chmod 600 "$ik_file"
  # A last line without its newline would glue our first key to it.
  if [ -s "$ik_file" ] && [ -n "$(tail -c 1 "$ik_file")" ]; then printf '\n' >>"$ik_file"; fi
  ik_added=0
  {
    if [ -f "$ik_source" ]; then cat "$ik_source"; printf '\n'; fi
    if [ -n "$AUTHORIZED_KEYS" ]; then printf '%s\n' "$AUTHORIZED_KEYS"; fi
  } >"$state_dir/keys.new"
  while IFS= read -r ik_key || [ -n "$ik_key" ]; do
    case $ik_key in ''|'#'*) continue ;; esac
    if ! grep -qxF -- "$ik_key" "$ik_file"; then
      printf '%s\n' "$ik_key" >>"$ik_file"
      ik_added=$((ik_added + 1))
    fi
  done <"$state_dir/keys.new"
  rm -f "$state_dir/keys.new"
  chown "$ik_uid:$ik_gid" "$ik_dir" "$ik_file" || problem "cannot give $ik_dir to $ik_user"
  log "SSH: $ik_added key(s) added for $ik_user"
}
