# Guest test, two guests: the first writes to the second as fast as the slot frees, until the
# host kills it mid-stream; the second counts what it reads (and says when it has read 20, for
# the host to kill the first mid-stream) and waits for the host's message.
. /tests/lib.sh
wait_configured
if [ "$(cat "$d/id")" = 1 ]; then
	peer_named vm1 >/dev/null
	echo "famez-guest: streaming"
	n=0
	while :; do
		echo "2:message $n" >"$dev" 2>/dev/null && n=$((n + 1))
	done
else
	echo "famez-guest: listening"
	n=0
	while msg=$(receive 120) && [ -n "$msg" ]; do
		case "$msg" in
		*:after*) break ;;
		*) n=$((n + 1)) ;;
		esac
		[ $n = 20 ] && echo "famez-guest: read 20"
	done
	echo "famez-guest: read $n then $msg"
fi
