#!/usr/bin/env -S zsh -f
# zsh-complete.zsh SCRIPT LINE: prints, one a line, what zsh's completion system offers for LINE<Tab> once SCRIPT
# (a completion script) is loaded. An interactive zsh runs in a pseudo-terminal (zpty); compadd is wrapped to print
# every match it is given, between two marker lines, and the shell exits after the first completion.
zmodload zsh/zpty
local init=${TMPDIR:-/tmp}/zsh-complete-$$.zsh
print -r -- "
PROMPT=''
autoload -U compinit && compinit -u -d ${TMPDIR:-/tmp}/zsh-complete-$$.dump
bindkey '^I' complete-word
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
mark() { print -r -- '<<mark>>' }
compprefuncs=(mark)
comppostfuncs=(mark exit)
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd \"\$@\"; return; fi
  local -a got
  builtin compadd -A got \"\$@\"
  local m; for m in \$got; do print -r -- \"<<match>>\$m\"; done
}
source ${(q)1}
print ready
" > $init
zpty z zsh -f -i
zpty -w z "source ${(q)init}"
local line
repeat 50; do zpty -r z line; [[ $line == ready* ]] && break; done
zpty -w -n z "$2"$'\t'
local out=''
while zpty -r z line; do out+=$line; done
rm -f $init ${TMPDIR:-/tmp}/zsh-complete-$$.dump
local -a matches=(${(f)${out//$'\r'/}})
print -l -- ${${(M)matches:#<<match>>*}#<<match>>}
