#!/bin/sh
# Test support (fake-controller.fixture.ts): a fake ip. Only `ip -j -d link show dev NAME`, answered from
# $VMCTX_FAKE_STATE/links/NAME (what the real one prints as JSON).
S="$VMCTX_FAKE_STATE"
for last; do :; done
if [ -f "$S/links/$last" ]; then cat "$S/links/$last"; else echo "Device \"$last\" does not exist." >&2; exit 1; fi
