#!/bin/sh
# Runs inside the test VM (Debian 12 booted with systemd as PID 1) as a oneshot unit: installs
# famez's packages with apt, then checks what an admin would. Every line for the host starts
# with "famez-vm: "; "famez-vm: ok NAME" or "famez-vm: FAIL NAME".
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "famez-vm: $*"; }
check() { # NAME COMMAND...: ok or FAIL
	name=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then say "ok $name"; else say "FAIL $name: $(tr '\n' ' ' </tmp/check.out)"; fi
}

say "start $(uname -r), $(systemctl --version | head -1)"
check install apt-get install -y --no-install-recommends /root/debs/famez_0.1.0_amd64.deb \
	/root/debs/famez-client_0.1.0_amd64.deb /root/debs/famez-virt_0.1.0_amd64.deb
check socket-enabled systemctl is-enabled famez.socket
check socket-active systemctl is-active famez.socket
check socket-group sh -c 'stat -c %G /run/famez/famez.sock | grep -qx kvm'
check service-not-yet-running sh -c '! systemctl is-active famez.service'

# The first client activates the service through the socket.
famez-client -N alpha -e "sleep 40" >/tmp/alpha.out 2>&1 &
sleep 3
check service-active systemctl is-active famez.service
check service-notify sh -c 'systemctl show -p Type --value famez.service | grep -qx notify'
check status-lists-client sh -c 'famezctl status | grep -q " alpha "'
# The hardening of units/ met the real manager: the same exposure as the offline check.
exposure=$(systemd-analyze security famez.service 2>/dev/null | sed -n 's/.*Overall exposure level for famez.service: \([0-9.]*\).*/\1/p')
say "exposure $exposure, offline $(cat /root/expected-exposure)"
check exposure-as-offline test "$exposure" = "$(cat /root/expected-exposure)"
# polkit: nobody is denied a mutating method, root is allowed.
check nobody-denied sh -c 'setpriv --reuid=nobody --regid=nogroup --clear-groups famezctl --no-ask-password send-interrupt 1 0; test $? -eq 4'
check root-allowed famezctl send-interrupt 1 0

# A restart keeps both clients, and they still talk.
famez-client -N beta -e "sleep 10; ping alpha 10; sleep 1" >/tmp/beta.out 2>&1 &
beta=$!
sleep 3
check restart systemctl restart famez.service
sleep 1
check both-kept sh -c 'famezctl --json peers | grep -o "\"nodename\":\"\(alpha\|beta\)\"" | wc -l | grep -qx 2'
wait $beta
check talk-after-restart grep -q "pong from alpha@1" /tmp/beta.out
say "beta: $(tr '\n' ' ' </tmp/beta.out)"

# Purge leaves nothing behind.
kill %1 2>/dev/null
check purge apt-get purge -y famez famez-client famez-virt
check nothing-left sh -c '! ls /etc/default/famez /lib/systemd/system/famez.* /usr/lib/systemd/system/famez.* /usr/sbin/famezd /usr/bin/famezctl /usr/share/dbus-1/system.d/org.famez.conf /run/famez/famez.sock 2>/dev/null | grep .'
check no-unit-left sh -c '! systemctl list-unit-files famez.socket famez.service | grep -q "^famez\."'
say done
