"""Which tool calls may run: deny rules from the settings, then the person's confirmation.

Deny rules guard against a model's mistakes, not against a hostile model: the sandbox is the
boundary. A rule is matched against every program the bash command starts by name (through
``&&``, pipes, ``$(...)``, wrappers such as ``sudo`` or ``timeout``, ``find -exec``, ``xargs``
and ``sh -c``); with rules set, what cannot be checked before it runs (a computed command
name, a shell reading a pipe, unparseable text) is refused too. Code a program runs on its
own (``python -c``, a script file, git hooks) is not seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:  # the shell parser is imported on the first check with rules set
    from .deny_rules import DenyRule
    from .shell.commands import Unchecked

#: Asks the person whether a command may run; True means yes.
ConfirmAsk = Callable[[str], bool]

GUARDED_TOOL = "bash"

DECLINED = "Refused: the user declined to run this command. Ask them, or try something else."


def denial(rule: str) -> str:
    """What the model (or the person) is told when a deny rule refuses a command."""
    return (f"Refused: this command matches the deny rule {rule!r} in the settings and was not "
            "run. Do not try to get around the rule; ask the user instead.")


def unchecked(reason: str, syntax: bool = False) -> str:
    """What the model is told when deny rules are set and a command cannot be checked."""
    advice = ("Check its quoting, brackets and here-documents" if syntax else
              "Write the command out literally (no command names or scripts computed at run "
              "time, no shell reading from a pipe)")
    return (f"Refused: deny rules are set in the settings, and this command cannot be checked "
            f"against them because {reason}, so it was not run. {advice}, or ask the user.")


def refusal(command: str, rules: Sequence[DenyRule]) -> Optional[str]:
    """The refusal for ``command`` under ``rules``, or None when it may run; never raises."""
    if not rules:
        return None
    try:
        rule, reason = _verdict(command, rules)
    except Exception as error:  # fail closed: a checker bug must not let a command through
        return unchecked(f"the checker failed ({type(error).__name__})")
    if rule is not None:
        return denial(rule)
    return None if reason is None else unchecked(reason.reason, reason.syntax)


def matching_rule(command: str, deny: Iterable[str]) -> Optional[str]:
    """The first deny rule that some program in ``command`` matches, or None.

    None does not mean the command may run: see ``refusal`` for commands that cannot be checked.
    """
    from .deny_rules import compile_rules

    rules = compile_rules(deny)
    return _verdict(command, rules)[0] if rules else None


def _verdict(command: str, rules: Sequence[DenyRule]) -> tuple[Optional[str], Optional[Unchecked]]:
    from .deny_rules import first_match, plain_calls
    from .shell.commands import Unchecked, program_calls

    first_unchecked: Optional[Unchecked] = None
    for found in program_calls(command):
        if isinstance(found, Unchecked):
            first_unchecked = first_unchecked or found
            continue
        rule = first_match(found, rules)
        if rule is not None:
            return rule.text, None
    if first_unchecked is not None and first_unchecked.syntax:
        for call in plain_calls(command):
            rule = first_match(call, rules)
            if rule is not None:
                return rule.text, None
    return None, first_unchecked


class Approval:
    """A ToolGuard for ``Agent(guard=...)``: deny rules always, confirmation when switched on."""

    def __init__(
        self,
        deny: Iterable[str] = (),
        *,
        confirm: bool = False,
        ask: Optional[ConfirmAsk] = None,
    ) -> None:
        self.deny = list(deny)
        self.confirm = confirm
        self.ask = ask
        self._compiled: tuple[tuple[str, ...], list[DenyRule]] = ((), [])

    def rules(self) -> list[DenyRule]:
        """The parsed deny rules, parsed again only when ``deny`` has changed."""
        key = tuple(self.deny)
        if key != self._compiled[0]:
            from .deny_rules import compile_rules

            self._compiled = (key, compile_rules(key))
        return self._compiled[1]

    def check_command(self, command: str) -> Optional[str]:
        """The refusal for a shell command under the deny rules, or None when it may run."""
        return refusal(command, self.rules()) if self.deny else None

    def __call__(self, name: str, arguments: dict[str, Any]) -> Optional[str]:
        """None to let the tool call run, else the refusal the model sees as the tool result."""
        if name != GUARDED_TOOL:
            return None
        command = str(arguments.get("cmd", ""))
        answer = self.check_command(command)
        if answer is not None or not self.confirm:
            return answer
        if self.ask is None:
            return "Refused: confirmation is switched on but there is no one to ask."
        return None if self.ask(command) else DECLINED
