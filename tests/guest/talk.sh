# Guest test: the bridge is configured by the server at probe, then talks through FAME-Z's
# text API: write("DEST:text"), read() -> "CID,SID:text".
. /tests/lib.sh
wait_configured
echo "famez-guest: link $(cat "$d/link_state") cid $(cat "$d/cid") sid $(cat "$d/sid") pfm_cid $(cat "$d/pfm_cid") pfm_sid $(cat "$d/pfm_sid")"
echo "famez-guest: nodename $(cat "$d/nodename") cclass $(cat "$d/cclass")"
echo server:ping >"$dev" && echo "famez-guest: got $(receive 60)"
echo "famez-guest: waiting for the host"
msg=$(receive 120)
echo "famez-guest: got $msg"
from=${msg%%:*}
echo "$from:hello from the guest" >"$dev" && echo "famez-guest: answered $from"
echo "famez-guest: counters sent $(cat "$d/sent") received $(cat "$d/received") dropped $(cat "$d/dropped") malformed $(cat "$d/malformed")"
