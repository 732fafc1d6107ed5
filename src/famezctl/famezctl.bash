# SPDX-License-Identifier: MIT
# bash completion for famezctl
_famezctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local commands="status switches peers send-interrupt send ping disconnect monitor topology routes set-link"
	local options="--system --user --switch --json --dot --no-ask-password --count --help --version"
	local command="" bus=--system switch="" args=0 i

	# The command, the bus and switch named, and how many arguments the command has so far.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--user) bus=--user ;;
		--system) bus=--system ;;
		--switch)
			# bash splits --switch=NAME into three words.
			[[ ${COMP_WORDS[i + 1]} == = ]] && i=$((i + 1))
			switch=${COMP_WORDS[i + 1]}
			i=$((i + 1))
			;;
		--switch=*) switch=${COMP_WORDS[i]#--switch=} ;;
		-c | --count) i=$((i + 1)) ;;
		-*) ;;
		*) if [[ -z $command ]]; then command=${COMP_WORDS[i]}; else args=$((args + 1)); fi ;;
		esac
	done

	if [[ $prev == --switch || ($prev == = && ${COMP_WORDS[COMP_CWORD - 2]} == --switch) ]]; then
		# The switches of the running famezd.
		COMPREPLY=($(compgen -W "$(famezctl $bus switches 2>/dev/null | awk 'NR > 1 {print $1}')" -- "$cur"))
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$options" -- "$cur"))
	elif [[ -z $command ]]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
	elif [[ $command =~ ^(send-interrupt|send|ping|disconnect)$ && $args == 0 ]]; then
		# Peer IDs of the running famezd, on the switch given.
		COMPREPLY=($(compgen -W "$(famezctl $bus ${switch:+--switch "$switch"} peers 2>/dev/null | awk 'NR > 1 {print $1}')" -- "$cur"))
	elif [[ $command == set-link && $args == 0 ]]; then
		# The link ports of the switch given (the default one), from the running famezd.
		COMPREPLY=($(compgen -W "$(famezctl $bus topology 2>/dev/null | awk -v sw="Switch ${switch:-default}:" '
			/^Switch / { mine = index($0, sw) == 1 }
			mine && / -> / { print $2 }')" -- "$cur"))
	elif [[ $command == set-link && $args == 1 ]]; then
		COMPREPLY=($(compgen -W "up down" -- "$cur"))
	fi
}
complete -F _famezctl famezctl
