# shellcheck shell=sh disable=SC2034,SC2154
# The context's keys: common/network read as data (common/values.sh, never sourced), each key cleared first and
# exported, so that the user's scripts see them in their environment. Run where it is sourced, by post-install.sh
# and cloud-init-scripts.sh, after values.sh; uses `ctx` and `warn`.

network_keys="GATEWAY NETWORK BROADCAST NETMASK NAMESERVER DOMAIN SEARCH METHOD IP PREFIX IFACE MAC MAC_PREFIX MTU NAMESERVERS HOSTNAME HOSTNAME_PREFIX SSH_USER AUTHORIZED_KEYS INSTANCE_ID"
GATEWAY=
NETWORK=
BROADCAST=
NETMASK=
NAMESERVER=
DOMAIN=
SEARCH=
METHOD=
IP=
PREFIX=
IFACE=
MAC=
MAC_PREFIX=
MTU=
NAMESERVERS=
HOSTNAME=
HOSTNAME_PREFIX=
SSH_USER=
AUTHORIZED_KEYS=
INSTANCE_ID=
if [ -f "$ctx/common/network" ]; then
  # Read as data, never sourced: a value such as '$(cmd)' stays text.
  read_values "$ctx/common/network" common/network "$network_keys"
else
  warn "no common/network; DHCP"
fi
# The user's scripts see the context's values in their environment.
export GATEWAY NETWORK BROADCAST NETMASK NAMESERVER DOMAIN SEARCH METHOD IP PREFIX IFACE MAC MAC_PREFIX MTU NAMESERVERS HOSTNAME HOSTNAME_PREFIX SSH_USER AUTHORIZED_KEYS INSTANCE_ID
