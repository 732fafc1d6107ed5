#!/bin/sh
# Runs inside the test VM (Debian 12 booted with systemd as PID 1) as a oneshot unit: installs
# famez's packages with apt, then checks what an admin would. Every line for the host starts
# with "famez-vm: "; "famez-vm: ok NAME" or "famez-vm: FAIL NAME".
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "famez-vm: $*"; }
check() { # NAME COMMAND...: ok or FAIL
	name=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then say "ok $name"; else say "FAIL $name: $(tr '\n' ' ' </tmp/check.out)"; failed=1; fi
}
failed=

# Runs COMMAND... until it succeeds, at most SECONDS: for what the manager does in its own time.
wait_until() { # SECONDS COMMAND...
	limit=$(($1 * 10))
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		[ $i -ge $limit ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

say "start $(uname -r), $(systemctl --version | head -1)"
check install apt-get install -y --no-install-recommends /root/debs/famez_0.1.0_amd64.deb \
	/root/debs/famez-client_0.1.0_amd64.deb /root/debs/famez-virt_0.1.0_amd64.deb
check socket-enabled systemctl is-enabled famez.socket
check socket-active systemctl is-active famez.socket
check socket-group sh -c 'stat -c %G /run/famez/famez.sock | grep -qx kvm'
check service-not-yet-running sh -c '! systemctl is-active famez.service'
# The template of further switches' sockets is installed and enables nothing by itself. A switch
# added before famezd runs comes with the first start (systemd refuses to start a socket whose
# service runs; docs/systemd.md says how to add one then).
check switch-template-installed test -f /lib/systemd/system/famez-switch@.socket
check switch-template-not-enabled sh -c '! systemctl is-enabled famez-switch@lab.socket'
check switch-enable systemctl enable --now famez-switch@lab.socket
check switch-socket-group sh -c 'stat -c %G /run/famez/lab.sock | grep -qx kvm'

# The first client activates the service through the socket: once it is connected, famezd has
# told systemd it is ready.
famez-client -N alpha -e "sleep 600" >/tmp/alpha.out 2>&1 &
alpha=$!
wait_until 120 grep -q '^connected id' /tmp/alpha.out
check service-active systemctl is-active famez.service
check service-notify sh -c 'systemctl show -p Type --value famez.service | grep -qx notify'
lists_alpha() { famezctl status | grep -q " alpha "; }
check status-lists-client wait_until 60 lists_alpha
# The hardening of units/ met the real manager: the same exposure as the offline check.
exposure=$(systemd-analyze security famez.service 2>/dev/null | sed -n 's/.*Overall exposure level for famez.service: \([0-9.]*\).*/\1/p')
say "exposure $exposure, offline $(cat /root/expected-exposure)"
check exposure-as-offline test "$exposure" = "$(cat /root/expected-exposure)"
# polkit: nobody is denied a mutating method, root is allowed.
check nobody-denied sh -c 'setpriv --reuid=nobody --regid=nogroup --clear-groups famezctl --no-ask-password send-interrupt 1 0; test $? -eq 4'
check root-allowed famezctl send-interrupt 1 0

# A client of switch lab: famezd, started by alpha, serves it on the socket systemd passed.
famez-client -v -S /run/famez/lab.sock -N gamma -e "sleep 600" >/tmp/gamma.out 2>&1 &
gamma=$!
wait_until 120 grep -q '^connected id' /tmp/gamma.out
lab_listening() { journalctl -b -u famez.service | grep -q "switch lab: listening on /run/famez/lab.sock"; }
check switch-lab-serves wait_until 60 lab_listening
# Whether a newcomer on lab reaches gamma (with its ID, connected all along) through famezd.
# What both said goes into the verdict when it does not.
gamma_reached() { # NODENAME
	famez-client -v -S /run/famez/lab.sock -N "$1" -e "ping gamma 60" >"/tmp/$1.out" 2>&1 &&
		grep -q "pong from gamma@1 " "/tmp/$1.out" && ! grep -q "server closed" /tmp/gamma.out ||
		{ echo "$1: $(cat "/tmp/$1.out")"; echo "gamma: $(cat /tmp/gamma.out)"; return 1; }
}

# A restart keeps both clients, and they still talk: beta pings alpha once famezd, restarted,
# sends it a message.
famez-client -N beta -e "wait-msg 1 300; ping alpha 60" >/tmp/beta.out 2>&1 &
beta=$!
wait_until 120 grep -q '^connected id' /tmp/beta.out
check restart systemctl restart famez.service
both_listed() {
	famezctl --json peers | grep -o '"nodename":"\(alpha\|beta\)"' | wc -l | grep -qx 2
}
check both-kept wait_until 60 both_listed
check message-after-restart famezctl send "$(sed -n 's/^connected id \([0-9]*\).*/\1/p' /tmp/beta.out)" restarted
wait $beta
check talk-after-restart grep -q "pong from alpha@1" /tmp/beta.out
say "beta: $(tr '\n' ' ' </tmp/beta.out)"
check switch-lab-kept gamma_reached delta

# An upgrade (here the same package again) restarts famezd; every switch keeps its peers.
pid=$(systemctl show -p MainPID --value famez.service)
check upgrade apt-get install -y --reinstall /root/debs/famez_0.1.0_amd64.deb
restarted() { systemctl is-active --quiet famez.service && [ "$(systemctl show -p MainPID --value famez.service)" != "$pid" ]; }
check upgrade-restarted restarted
lists_alpha_json() { famezctl --json peers | grep -q '"nodename":"alpha"'; }
check upgrade-keeps-default wait_until 60 lists_alpha_json
check upgrade-keeps-lab gamma_reached epsilon

# What famezd said, for a look at what failed (the purge stops it).
[ -z "$failed" ] || journalctl -b -u famez.service -u 'famez-switch@*' --no-pager | tail -60 |
	sed 's/^/famez-vm: journal: /'

# Purge leaves nothing behind, not even what the service made (its state directory).
kill $alpha $gamma 2>/dev/null
check state-directory-made test -d /var/lib/famez
check purge apt-get purge -y 'famez*'
check switch-socket-stopped sh -c '! systemctl is-active famez-switch@lab.socket'
check nothing-left sh -c '! ls /etc/default/famez /lib/systemd/system/famez* /usr/lib/systemd/system/famez* /etc/systemd/system/sockets.target.wants/famez* /usr/sbin/famezd /usr/bin/famezctl /usr/share/dbus-1/system.d/org.famez.conf /run/famez 2>/dev/null | grep .'
check no-unit-left sh -c '! systemctl list-unit-files "famez*" | grep -v "^famez-vm-test" | grep -q "^famez"'
# Any path with famez in its name, but this test's own (its script, unit and the packages).
leftovers() {
	find / /run -xdev \( -path /proc -o -path /sys -o -path /root/debs -o -path /tmp \) -prune -o \
		-name '*famez*' ! -name '*famez-vm-test*' -print
}
no_leftovers() {
	left=$(leftovers)
	[ -z "$left" ] || { echo "$left"; return 1; }
}
check nothing-named-famez-left no_leftovers
say done
