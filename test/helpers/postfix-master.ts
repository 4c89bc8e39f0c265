/**
 * The master.cf of the private Postfix instances the recording scripts run (not used by tests):
 * an smtpd on `listen` and the daemons mail needs to be queued and delivered locally. Delivery
 * transports that would leave the machine are the caller's to add (pipe(8) captures, or smtp
 * towards a loopback sink).
 */
export function recordingMasterCf(listen: string): string {
  return `${listen} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`;
}
