# Guest test, two guests: the first writes to the second as fast as the slot frees, until the
# host kills it mid-stream; the second counts what it reads and waits for the host's message.
. /tests/lib.sh
wait_configured
if [ "$(cat "$d/id")" = 1 ]; then
	until grep -q '^2 ' "$d/peers"; do sleep 0.1; done
	echo "famez-guest: streaming"
	n=0
	while :; do
		echo "2:message $n" >"$dev" 2>/dev/null && n=$((n + 1))
	done
else
	echo "famez-guest: listening"
	n=0
	while msg=$(timeout 60 dd if="$dev" bs=512 count=1 2>/dev/null) && [ -n "$msg" ]; do
		case "$msg" in
		*:after*) break ;;
		*) n=$((n + 1)) ;;
		esac
	done
	echo "famez-guest: read $n then $msg"
fi
