#!/bin/bash
# Runs a test program against a private system bus carrying the project's D-Bus policy, with the
# real polkitd reading the project's polkit actions and one test rule, all inside a private
# mount namespace so nothing of the machine's own bus or polkit setup changes.
#
# Usage: bus-env.sh SOURCE_ROOT PROGRAM [ARGS...]
# The program gets DBUS_SYSTEM_BUS_ADDRESS and FAMEZ_POLKITD_PID.
set -euo pipefail

if [ -z "${FAMEZ_BUS_NAMESPACE:-}" ]; then
	exec env FAMEZ_BUS_NAMESPACE=1 unshare --mount --propagation private "$0" "$@"
fi

src=$1
shift
tmp=$(mktemp -d /tmp/famez-bus.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# polkit: the machine's actions and ours; the machine's rules and a test rule that lets the
# group "daemon" (user daemon, uid 1) ring doorbells, and send messages on the switch lab only.
mkdir "$tmp/actions" "$tmp/rules"
cp /usr/share/polkit-1/actions/* "$tmp/actions/" 2>/dev/null || true
cp "$src/polkit/org.famez.policy" "$tmp/actions/"
cp /usr/share/polkit-1/rules.d/* "$tmp/rules/" 2>/dev/null || true
cat >"$tmp/rules/10-famez-test.rules" <<'RULES'
polkit.addRule(function(action, subject) {
	if (action.id == "org.famez.send-interrupt" && subject.isInGroup("daemon"))
		return polkit.Result.YES;
	if (action.id == "org.famez.send-message" && action.lookup("switch") == "lab" &&
	    subject.isInGroup("daemon"))
		return polkit.Result.YES;
});
RULES
chmod -R a+rX "$tmp/actions" "$tmp/rules"
mount --bind "$tmp/actions" /usr/share/polkit-1/actions
mount --bind "$tmp/rules" /usr/share/polkit-1/rules.d

# A system-style bus: the machine's system.conf, listening privately, with our policy added and
# no bus activation (a stopped polkitd must stay stopped).
mkdir "$tmp/policy"
cp "$src/dbus/org.famez.conf" "$tmp/policy/"
sed -e "s|<listen>.*</listen>|<listen>unix:path=$tmp/system_bus_socket</listen>|" \
	-e '/<user>/d' -e '/<pidfile>/d' -e '/<servicehelper>/d' -e '/<standard_system_servicedirs/d' \
	-e 's|<includedir>system.d</includedir>|<includedir>/usr/share/dbus-1/system.d</includedir>|' \
	-e 's|<includedir>/etc/dbus-1/system.d</includedir>|&|' \
	-e "s|</busconfig>|<includedir>$tmp/policy</includedir></busconfig>|" \
	/usr/share/dbus-1/system.conf >"$tmp/system.conf"
# Daemons start in well under a second; a loaded machine may take far longer.
wait_s=60
dbus-daemon --config-file="$tmp/system.conf" --nofork --nopidfile &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/system_bus_socket
deadline=$((SECONDS + wait_s))
until [ -S "$tmp/system_bus_socket" ] || [ $SECONDS -ge $deadline ]; do sleep 0.02; done
[ -S "$tmp/system_bus_socket" ] || {
	echo "bus-env: dbus-daemon did not come up in $wait_s s" >&2
	exit 1
}
chmod 777 "$tmp/system_bus_socket"

/usr/lib/polkit-1/polkitd --no-debug >"$tmp/polkitd.log" 2>&1 &
pids+=($!)
export FAMEZ_POLKITD_PID=$!
deadline=$((SECONDS + wait_s))
until busctl --system status org.freedesktop.PolicyKit1 >/dev/null 2>&1 ||
	[ $SECONDS -ge $deadline ]; do
	sleep 0.02
done
busctl --system status org.freedesktop.PolicyKit1 >/dev/null 2>&1 || {
	echo "bus-env: polkitd did not come up:" >&2
	cat "$tmp/polkitd.log" >&2
	exit 1
}

"$@"
