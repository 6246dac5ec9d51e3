# shellcheck shell=sh disable=SC2034
# The options of contextualization.sh as contextualizationScript() writes them by default (a unit test holds the
# two equal; given other options, it writes its own lines in place of this file): each the environment's VMCTX_*
# value when set, else the option.
label=${VMCTX_LABEL:-'CONTEXT'}
every_boot=${VMCTX_EVERY_BOOT:-0}
limit=${VMCTX_TIMEOUT:-300}
dhcp_limit=${VMCTX_DHCP_TIMEOUT:-60}
iface=${VMCTX_IFACE:-''}
devices='sr0 sr1 vdb vdc vdd sdb sdc sdd hdb hdc hdd xvdb xvdc'
