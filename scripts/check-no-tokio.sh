#!/usr/bin/env bash
# The pkg/ crates that form the sans-IO core must not pull in tokio.
set -euo pipefail
status=0
for crate in vg-media vg-ari; do
  if cargo tree -p "$crate" -i tokio -e normal 2>/dev/null | grep -q '^tokio v'; then
    echo "check-no-tokio: $crate depends on tokio:" >&2
    cargo tree -p "$crate" -i tokio -e normal >&2
    status=1
  fi
done
[ $status = 0 ] && echo "check-no-tokio: vg-media and vg-ari are free of tokio"
exit $status
