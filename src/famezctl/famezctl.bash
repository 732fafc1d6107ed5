# SPDX-License-Identifier: MIT
# bash completion for famezctl
_famezctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local commands="status peers send-interrupt send ping disconnect monitor"
	local options="--system --user --json --no-ask-password --count --help --version"
	local command="" i

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) command=${COMP_WORDS[i]}; break ;;
		esac
	done

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$options" -- "$cur"))
	elif [[ -z $command ]]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
	elif [[ $command =~ ^(send-interrupt|send|ping|disconnect)$ && $prev == "$command" ]]; then
		# Peer IDs of the running famezd.
		local bus=--system
		[[ " ${COMP_WORDS[*]} " == *" --user "* ]] && bus=--user
		COMPREPLY=($(compgen -W "$(famezctl $bus peers 2>/dev/null | awk 'NR > 1 {print $1}')" -- "$cur"))
	fi
}
complete -F _famezctl famezctl
