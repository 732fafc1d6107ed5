# Guest benchmark (tests/bench/guest.sh), two guests on a fabric, famez.rounds=N rounds each:
# the first pings the second's bridge (answered in its kernel) and the server with famez-client,
# then times plain doorbell round trips (ring, the other's eventfd, its ring back, ours).
. /tests/lib.sh
rounds=$(sed -n 's/.*famez\.rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
flag=1048576 # a word past the mailbox: the second guest's echo is ready
wait_configured
repeat() { # N COMMANDS
	for _ in $(seq "$1"); do printf '%s; ' "$2"; done
}
if [ "$(cat "$d/id")" = 1 ]; then
	until grep -q '^2 ' "$d/peers"; do sleep 0.1; done
	famez-client -D "$dev" -e "$(repeat "$rounds" "ping 2 5")" |
		sed -n 's/^pong from .* in \([0-9]*\) us$/famez-guest: rtt-guest \1/p'
	famez-client -D "$dev" -e "$(repeat "$rounds" "ping server 5")" |
		sed -n 's/^pong from .* in \([0-9]*\) us$/famez-guest: rtt-server \1/p'
	famez-client -D "$dev" -e "write $flag 1" >/dev/null
	until famez-client -D "$dev" -e "read $((flag + 8))" | grep -q ' 0x1$'; do sleep 0.1; done
	famez-client -D "$dev" -e "stamp; $(repeat "$rounds" "int 2 1; wait-int 2 1 10") stamp" |
		sed -n 's/^stamp /famez-guest: stamp /p'
else
	until famez-client -D "$dev" -e "read $flag" | grep -q ' 0x1$'; do sleep 0.1; done
	famez-client -D "$dev" -e "write $((flag + 8)) 1; $(repeat "$rounds" "wait-int 1 1 30; int 1 2")" \
		>/dev/null
	echo "famez-guest: echoed"
fi
