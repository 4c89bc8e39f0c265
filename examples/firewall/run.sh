#!/bin/sh
# Build the tables and run the example in the foreground (Ctrl-C stops it).
# The MySQL table must exist first (aliases.sql). READDRESS may name another readdress
# command, e.g. READDRESS="node bin/readdress.js".
set -e
here=$(cd "$(dirname "$0")" && pwd)
rd=${READDRESS:-npx readdress}
$rd postmap -c "$here" "$here/access" "$here/virtual" "$here/relocated" "$here/mailboxes"
$rd newaliases -c "$here"
exec $rd serve -c "$here"
