# shellcheck shell=sh disable=SC2154
# common/routes: ifupdown "up" lines (ours, "up ip route add NET/LEN via GW", and Snooze's "up route add -net
# ..."), each checked, applied now with `ip route`, and kept for the persistent configuration: `route_up` (as
# ifupdown lines), `networkd_routes` (as [Route] blocks) and `nm_routes` (NetworkManager's routeN= lines). Part of
# post-install.sh, after ipv4.sh; uses `ctx` and `iface`.

# parse_route LINE: sets rt_dest (default or NET/LEN), rt_via, rt_metric, rt_del; 1 if it is not a route line.
parse_route() {
  rt_dest=
  rt_via=
  rt_mask=
  rt_metric=
  rt_del=
  set -f
  # shellcheck disable=SC2086
  set -- $1
  set +f
  case ${1:-} in up|post-up) shift ;; *) return 1 ;; esac
  [ $# -ge 3 ] || return 1
  case "$1 $2 $3" in
    'ip route add'|'ip route replace'|'ip route append') shift 3; [ $# -ge 1 ] || return 1; rt_dest=$1; shift ;;
    'ip route del'|'ip route delete') shift 3; [ $# -ge 1 ] || return 1; rt_del=1; rt_dest=$1; shift ;;
    'route add -net') shift 3; [ $# -ge 1 ] || return 1; rt_dest=$1; shift ;;
    'route add -host') shift 3; [ $# -ge 1 ] || return 1; rt_dest=$1/32; shift ;;
    'route add default') shift 3; rt_dest=default ;;
    'route del default') shift 3; rt_del=1; rt_dest=default ;;
    'route del -net') shift 3; [ $# -ge 1 ] || return 1; rt_del=1; rt_dest=$1; shift ;;
    *) return 1 ;;
  esac
  while [ $# -ge 2 ]; do
    case $1 in
      via|gw) rt_via=$2 ;;
      netmask) rt_mask=$2 ;;
      metric) rt_metric=$2 ;;
      dev) ;;
      *) return 1 ;;
    esac
    shift 2
  done
  [ $# -eq 0 ] || return 1
  if [ -n "$rt_mask" ]; then
    rt_len=$(mask_to_prefix "$rt_mask") || return 1
    case $rt_dest in */*) return 1 ;; esac
    rt_dest=$rt_dest/$rt_len
  fi
  if [ "$rt_dest" != default ]; then
    case $rt_dest in */*) ;; *) rt_dest=$rt_dest/32 ;; esac
    is_ipv4 "${rt_dest%/*}" && is_prefix "${rt_dest#*/}" || return 1
  fi
  if [ -n "$rt_via" ]; then is_ipv4 "$rt_via" || return 1; fi
  if [ -n "$rt_metric" ]; then is_number "$rt_metric" || return 1; fi
  return 0
}

# apply_routes: each route of common/routes now, and its canonical "up" line into route_up for ifupdown; then the
# routes an earlier context added and this one dropped are deleted (forget_routes).
route_up=
networkd_routes=
nm_routes=
ar_count=0
ar_applied=
apply_routes() {
  if [ -f "$ctx/common/routes" ]; then apply_route_lines; fi
  forget_routes
}

apply_route_lines() {
  while IFS= read -r ar_line || [ -n "$ar_line" ]; do
    case $ar_line in ''|'#'*) continue ;; esac
    if ! parse_route "$ar_line"; then
      problem "common/routes: not a route this script understands, skipped: $ar_line"
      continue
    fi
    set -- "$rt_dest"
    if [ -n "$rt_via" ]; then set -- "$@" via "$rt_via"; fi
    set -- "$@" dev "$iface"
    if [ -n "$rt_metric" ]; then set -- "$@" metric "$rt_metric"; fi
    if [ -n "$rt_del" ]; then
      ip route del "$@" 2>/dev/null || ip route del "$rt_dest" 2>/dev/null || :
      route_up="$route_up    up ip route del $* || true
"
      log "route deleted: $*"
    elif ip route replace "$@"; then
      ar_applied="$ar_applied$*
"
      route_up="$route_up    up ip route replace $*
"
      log "route: $*"
      networkd_routes="$networkd_routes

[Route]
Destination=$(if [ "$rt_dest" = default ]; then printf '0.0.0.0/0'; else printf '%s' "$rt_dest"; fi)"
      if [ -n "$rt_via" ]; then networkd_routes="$networkd_routes
Gateway=$rt_via"; fi
      if [ -n "$rt_metric" ]; then networkd_routes="$networkd_routes
Metric=$rt_metric"; fi
      ar_count=$((ar_count + 1))
      nm_routes="${nm_routes}route$ar_count=$(if [ "$rt_dest" = default ]; then printf '0.0.0.0/0'; else printf '%s' "$rt_dest"; fi),${rt_via:-0.0.0.0}${rt_metric:+,$rt_metric}
"
    else
      problem "route $* could not be added"
    fi
  done <"$ctx/common/routes"
}

# forget_routes: state_dir/routes holds the routes vmctx applied last time (the words after "ip route replace",
# checked values only); one this context no longer has is deleted now (an edited context re-applied, or a new CD
# at boot), and the record becomes the routes just applied.
forget_routes() {
  if [ -f "$state_dir/routes" ]; then
    while IFS= read -r fr_line || [ -n "$fr_line" ]; do
      [ -n "$fr_line" ] || continue
      case "
$ar_applied" in *"
$fr_line
"*) continue ;; esac
      set -f
      # shellcheck disable=SC2086
      set -- $fr_line
      set +f
      # Gone already when the address it went through was flushed: nothing to say then.
      if ip route del "$@" 2>/dev/null; then log "route deleted: $fr_line (no longer in the context)"; fi
    done <"$state_dir/routes"
  fi
  printf '%s' "$ar_applied" >"$state_dir/routes"
}
