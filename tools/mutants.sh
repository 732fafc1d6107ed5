#!/bin/bash
# Re-applies, one at a time, the behaviour changes a mutation audit once found the suite let
# through, and runs the default suites (unit and integration) on each: every one must make a
# test fail. Prints, per mutant, the tests that caught it, or SURVIVED; exits 1 if any survived
# or no longer applies. Works on a throwaway worktree of HEAD: commit first. About 4 minutes a
# mutant here. Usage: tools/mutants.sh [NUMBER...]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# NUMBER|FILE|TEXT|REPLACEMENT|what it breaks. TEXT must occur exactly once in FILE.
mutants=(
	'1|src/famezd/polkit.c|if (uid_known && uid == 0)|if (uid_known)|a caller whose uid is cached skips polkit'
	'2|contrib/libvirt/famez-virt-xml.c|*addr = fam ? "0x19" : "0x1c";|*addr = fam ? "0x1f" : "0x1c";|--fam on q35 takes the slot ICH9-LPC holds'
	'3|src/famezd/fdstore.c|			peer_flush(p);|			peer_flush(p), i = st.n_peers;|only the first slow peer gets its queue back after a restart'
	'4|src/famezd/fdstore.c|	idalloc_set_cursor(s->ids, st.next_id, st.seq);|	(void)st.next_id;|the ID cursor and sequence are not restored'
	'5|src/famezd/bus-peer.c|return bus_send_interrupt(p->server, m, p, vector, interactive, error);|return (void)p, (void)vector, (void)interactive, (void)error, sd_bus_reply_method_return(m, NULL);|Peer1.SendInterrupt does nothing'
	'6|src/famezd/bus-peer.c|return bus_send_message(p->server, m, p, text, interactive, error);|return (void)p, (void)text, (void)interactive, (void)error, sd_bus_reply_method_return(m, NULL);|Peer1.SendMessage does nothing'
	'7|src/famezd/bus-peer.c|return bus_disconnect_peer(p->server, m, p, interactive, error);|return (void)p, (void)interactive, (void)error, sd_bus_reply_method_return(m, NULL);|Peer1.Disconnect does nothing'
	'8|contrib/libvirt/famez-virt-xml.c|if (ns->prefix && xmlStrcmp(ns->prefix, BAD_CAST "qemu") == 0)|if (0)|no fallback when the qemu prefix is taken'
	'9|src/shared/wire.c|if (fd >= 0 && offset == 0) {|if (fd >= 0) {|the fd goes with every piece of a partial send'
	'10|src/shared/fabric-msg.c|value_len >= FABRIC_CCLASS_MAX|value_len > FABRIC_CCLASS_MAX|a C-Class one character too long is taken'
	'11|src/famezd/bus-server.c|if (n >= MAILBOX_MSG_MAX)|if (n > MAILBOX_MSG_MAX)|a D-Bus message one character too long is taken'
	'12|src/famezd/server.c|if (i > 0 && s->n_peers >= s->config.max_peers)|if (0)|when full, a whole batch of newcomers is judged at once'
	'13|src/famezd/peer.c|	return !to->decoy|	return 1 + !to->decoy|doorbells are not authenticated: every peer gets every eventfd'
	'14|src/shared/fabric-msg.c|	strip_tracker(text);|	(void)strip_tracker;|a FAME-Z tracker (!EZT=) is not cut off'
	'15|src/shared/fabric-msg.h|(server_id * 100 <= FABRIC_CID_MAX ? 100 : 16)|((void)server_id, 100)|CIDs of fabrics beyond 39 slots overflow 12 bits'
	'16|src/famezd/fabric.c|		write_assignment(f, id, true);|		(void)0;|the SID and CID of a configured peer are not written into its slot'
)

want=("$@")
work=$(mktemp -d /tmp/famez-mutants.XXXXXX)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1; rm -rf "$work"' EXIT
git worktree add --detach "$work/tree" HEAD >/dev/null 2>&1 || exit 1
tree=$work/tree
(cd "$tree" && meson setup build >/dev/null && ninja -C build >/dev/null) || exit 1

status=0
for m in "${mutants[@]}"; do
	IFS='|' read -r n file text replacement what <<<"$m"
	if [ ${#want[@]} -gt 0 ] && ! printf '%s\n' "${want[@]}" | grep -qx "$n"; then
		continue
	fi
	if [ "$(grep -cF -- "$text" "$tree/$file")" != 1 ]; then
		echo "mutant $n ($what): no longer applies to $file"
		status=1
		continue
	fi
	TEXT=$text REPLACEMENT=$replacement perl -0pi -e \
		's/\Q$ENV{TEXT}\E/$ENV{REPLACEMENT} =~ s{\\n}{\n}gr/e' "$tree/$file"
	if ! ninja -C "$tree/build" >"$work/build.log" 2>&1; then
		# A mutant the compiler rejects says nothing of the tests: the mutant needs fixing.
		echo "mutant $n ($what): does not build"
		status=1
	else
		(cd "$tree" && meson test -C build --no-rebuild --suite unit --suite integration \
			>/dev/null 2>&1)
		caught=$(grep -hoE '^\.\./tests/[^:]+:[0-9]+:[FE]:[^:]+:[^:]+' \
			"$tree/build/meson-logs/testlog.txt" | awk -F: '{ print $5 }' | sort -u |
			tr '\n' ' ')
		if [ -n "$caught" ]; then
			echo "mutant $n ($what): caught by $caught"
		else
			echo "mutant $n ($what): SURVIVED"
			status=1
		fi
	fi
	git -C "$tree" checkout -- "$file"
done
# The tree as it is, for the builds that follow.
ninja -C "$tree/build" >/dev/null 2>&1
exit $status
