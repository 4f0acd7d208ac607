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
# The call core lives inside the gateway crate, which has tokio: its files
# must not name it (clippy's disallowed-methods keeps the clock out).
core=src/application/session/machine
if grep -rnE 'tokio::|#\[tokio' "$core" >&2; then
  echo "check-no-tokio: the call core ($core) uses tokio" >&2
  status=1
fi
[ $status = 0 ] && echo "check-no-tokio: vg-media, vg-ari and the call core are free of tokio"
exit $status
