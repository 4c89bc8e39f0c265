#!/bin/sh
# Build the alias table and run the example in the foreground (Ctrl-C stops it).
# READDRESS may name another readdress command, e.g. READDRESS="node bin/readdress.js".
set -e
here=$(cd "$(dirname "$0")" && pwd)
rd=${READDRESS:-npx readdress}
$rd newaliases -c "$here"
exec $rd serve -c "$here"
