"""Slash commands (``/help``, ``/cmd``, ``/cp``, ...): plain functions the CLI and web app share."""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from ..domain.errors import CheckpointConflict, PygentError
from ..domain.instructions import AGENTS_FILE, size_text
from ..domain.visible import visible
from .agents_template import draft_agents_file, top_names
from .approval import Approval
from .checkpoints import checkpoints_of, redo_step, undo_step
from .task_report import describe_tasks, ended_line, task_manager
from .workspace_exit import CHOICES


@dataclass
class Session:
    """What a command acts on: the agent (with its runtime) and the approval rules.

    ``workspace_choice``: ``keep`` or ``discard`` when ``/exit`` said what becomes of a
    temporary workspace, else None (the ``keep_workspace`` setting decides).
    """

    agent: Any
    approval: Approval = field(default=None)  # type: ignore[assignment]
    workspace_choice: Optional[str] = None

    def __post_init__(self) -> None:
        if self.approval is None:  # the agent's own rules, so /cmd obeys the same deny list
            guard = getattr(self.agent, "guard", None)
            self.approval = guard if isinstance(guard, Approval) else Approval()

    @property
    def runtime(self) -> Any:
        """The runtime the agent's tools run in."""
        return self.agent.runtime


@dataclass
class CommandOutcome:
    """What a command has to say, and whether the session should end.

    ``retry``: a line that does what was refused because it would overwrite something
    (``/undo --force``), for an entrypoint that can ask the person first.
    """

    text: str = ""
    exit: bool = False
    is_error: bool = False
    retry: str = ""


CommandFunc = Callable[[Session, str], CommandOutcome]


@dataclass(frozen=True)
class Command:
    """One slash command: its name, a one-line summary, details, and the function it runs."""

    name: str
    summary: str
    help: str
    func: CommandFunc
    usage: str = ""
    completes: str = ""  # what its argument completes to: "path", "command", "on|off" or ""


def help_command(session: Session, args: str) -> CommandOutcome:
    """List every command, or explain one."""
    name = args.strip().lstrip("/")
    if name:
        command = COMMANDS.get(name)
        if command is None:
            return unknown(name)
        return CommandOutcome(f"/{command.name} {command.usage}".rstrip() + f"\n{command.help}")
    width = max(len(f"/{c.name} {c.usage}") for c in COMMANDS.values())
    lines = [f"  {f'/{c.name} {c.usage}':<{width}}  {c.summary}" for c in COMMANDS.values()]
    lines.append("Anything else goes to the model. /help CMD tells more about one command.")
    return CommandOutcome("Commands:\n" + "\n".join(lines))


def cmd_command(session: Session, args: str) -> CommandOutcome:
    """Run a shell command in the sandbox directly, without the model."""
    command = args.strip()
    if not command:
        return CommandOutcome("Usage: /cmd COMMAND (for example /cmd ls -la)", is_error=True)
    refusal = session.approval.check_command(command)
    if refusal is not None:
        return CommandOutcome(refusal, is_error=True)
    result = session.runtime.run(command)
    return CommandOutcome(result.to_text(), is_error=result.exit_code != 0 or result.timed_out)


def cp_command(session: Session, args: str) -> CommandOutcome:
    """Copy a host file or folder into the workspace."""
    words = shlex.split(args)
    if not 1 <= len(words) <= 2:
        return CommandOutcome("Usage: /cp SRC [DEST]", is_error=True)
    src = Path(words[0]).expanduser()
    if not src.exists():
        return CommandOutcome(f"/cp: {words[0]} does not exist on this machine", is_error=True)
    landed = Path(session.runtime.upload_file(src, words[1] if len(words) > 1 else None))
    workspace = Path(session.runtime.workspace)
    try:
        shown = str(landed.relative_to(workspace))
    except ValueError:
        shown = str(landed)
    kind = "folder" if src.is_dir() else "file"
    return CommandOutcome(f"Copied {kind} {src} to {shown} in the workspace")


def new_command(session: Session, args: str) -> CommandOutcome:
    """Start a new conversation in the same runtime."""
    session.agent.new_conversation()
    said = instructions_line(session.agent)
    return CommandOutcome(
        f"New conversation; the workspace {session.runtime.workspace} and its files are kept."
        + (f"\n{said}" if said else "")
    )


def instructions_line(agent: Any) -> str:
    """``Instructions: AGENTS.md (1.2 KB, ~300 tokens)`` for a banner; "" when none were read."""
    instructions = getattr(agent, "instructions", None)
    summary = instructions.summary() if instructions is not None else ""
    return visible(f"Instructions: {summary}", keep_newlines=False) if summary else ""


def init_command(session: Session, args: str) -> CommandOutcome:
    """Write a first AGENTS.md from the names at the top of the workspace, without a model."""
    word = args.strip()
    if word not in ("", "--force"):
        return CommandOutcome("Usage: /init [--force]", is_error=True)
    names = top_names(Path(session.runtime.workspace))
    if AGENTS_FILE in names and not word:
        return CommandOutcome(f"{AGENTS_FILE} is already in the workspace; /init --force "
                              "replaces it.", is_error=True)
    text, evidence = draft_agents_file(names)
    session.runtime.write_file(AGENTS_FILE, text)  # never through a link the sandbox made
    source = (f"guesses from {', '.join(evidence)}" if evidence else
              "nothing at the top of the workspace to guess from")
    read = ("it is read into the system prompt of the next conversation (/new starts one)"
            if getattr(session.agent, "read_instructions", None) is not None else
            "project_instructions is off, so Pygent does not read it")
    return CommandOutcome(f"Wrote {AGENTS_FILE} ({size_text(len(text.encode('utf-8')))}, "
                          f"{source}). Edit it; {read}.")


def tasks_command(session: Session, args: str) -> CommandOutcome:
    """List the delegated tasks, or stop running ones (``/tasks stop ID``)."""
    words = args.split()
    manager = task_manager(session.agent)
    if not words:
        tools = getattr(session.agent, "tools", None)
        offered = tools is None or "delegate_task" in tools
        return CommandOutcome(describe_tasks(manager, can_delegate=offered))
    if words[0].lower() != "stop" or len(words) < 2:
        return CommandOutcome("Usage: /tasks lists the tasks; /tasks stop ID (or all) stops "
                              "one, for example /tasks stop task-1", is_error=True)
    if manager is None or not manager.tasks:
        return CommandOutcome("No delegated tasks to stop.", is_error=True)
    wanted = words[1:]
    if [w.lower() for w in wanted] == ["all"]:
        wanted = [task.id for task in manager.tasks.values() if task.running]
        if not wanted:
            return CommandOutcome("No task is running.")
    lines: list[str] = []
    failed = False
    for word in wanted:
        task = manager.tasks.get(word) or manager.tasks.get(f"task-{word}")
        if task is None:
            lines.append(visible(manager.status(word), keep_newlines=False))
            failed = True
        elif not task.running:
            lines.append(f"{ended_line(task)}: already ended, nothing to stop")
        else:
            manager.stop(task.id, "cancelled: stopped with /tasks stop")
            still = ": still ending; its sandbox was released" if task.running else ""
            lines.append(ended_line(task) + still)
    return CommandOutcome("\n".join(lines), is_error=failed)


def undo_command(session: Session, args: str) -> CommandOutcome:
    """Undo the last step's file changes (``--chat``: its messages too)."""
    return restore_outcome(session, "undo", args)


def redo_command(session: Session, args: str) -> CommandOutcome:
    """Redo the step undone last."""
    return restore_outcome(session, "redo", args)


def restore_outcome(session: Session, verb: str, args: str) -> CommandOutcome:
    """Run /undo or /redo with ``--chat`` and ``--force``; a conflict offers ``--force``."""
    words = set(args.split())
    if not words <= {"--chat", "--force"}:
        return CommandOutcome(f"Usage: /{verb} [--chat] [--force]", is_error=True)
    step = undo_step if verb == "undo" else redo_step
    chat = "--chat" in words
    try:
        done = step(session.agent, force="--force" in words, conversation=chat)
    except CheckpointConflict as exc:
        retry = f"/{verb} --force" + (" --chat" if chat else "")
        return CommandOutcome(f"Not {verb}ne: {exc}. {retry} overwrites "
                              f"{'it' if len(exc.paths) == 1 else 'them'}.", is_error=True,
                              retry=retry)
    return CommandOutcome(done.text)


def diff_command(session: Session, args: str) -> CommandOutcome:
    """What the agent changed this session, as a unified diff."""
    path = args.strip()
    checkpoints = checkpoints_of(session.agent)
    text = checkpoints.diff(path or None)
    if not text:
        where = f" in {path}" if path else ""
        return CommandOutcome(f"No file changes by the agent{where} this session (steps you "
                              "undid do not count).")
    return CommandOutcome(text.rstrip("\n"))


def exit_command(session: Session, args: str) -> CommandOutcome:
    """End the session; ``keep`` or ``discard`` says what becomes of a temporary workspace."""
    word = args.strip().lower().lstrip("-")
    if word not in ("", *CHOICES):
        return CommandOutcome("Usage: /exit [keep|discard]: keep or remove a temporary "
                              "workspace without being asked", is_error=True)
    session.workspace_choice = word or None
    if word == "discard" and not getattr(session.runtime, "temporary", False):
        return CommandOutcome(f"Bye. The workspace {session.runtime.workspace} is a folder you "
                              "chose, so it stays: only a temporary one is ever removed.",
                              exit=True)
    return CommandOutcome("Bye.", exit=True)


def confirm_command(session: Session, args: str) -> CommandOutcome:
    """Switch asking before each bash command on or off."""
    word = args.strip().lower()
    if word in ("on", "off"):
        session.approval.confirm = word == "on"
    elif word:
        return CommandOutcome("Usage: /confirm on|off", is_error=True)
    state = "on: you are asked" if session.approval.confirm else "off: commands run"
    return CommandOutcome(f"Confirmation is {state} before each bash command.")


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("help", "list the commands, or explain one", "Without an argument, list every "
                "command; /help CMD shows what CMD does and how to call it.", help_command,
                "[CMD]", "command"),
        Command("cmd", "run a shell command in the sandbox, without the model",
                "Runs COMMAND in the sandbox's shell (same working folder and variables as the "
                "model's bash calls) and prints its output. The model does not see it. Deny "
                "rules from the settings still apply.", cmd_command, "COMMAND"),
        Command("cp", "copy a host file or folder into the workspace",
                "Copies SRC from this machine into the workspace, as DEST (a path inside the "
                "workspace) when given, else under its own name. Paths may not leave the "
                "workspace.", cp_command, "SRC [DEST]", "path"),
        Command("new", "start a new conversation, keeping the runtime and its files",
                "Forgets the conversation so the model starts fresh; the sandbox, its "
                "workspace and its files stay as they are.", new_command),
        Command("init", "write a first AGENTS.md (project instructions) into the workspace",
                "Writes AGENTS.md with headings (overview, build and test, conventions) and "
                "what the names at the top of the workspace suggest (pyproject.toml, "
                "package.json, ...), for you to edit; no model is asked. It is read into the "
                "system prompt from the next conversation on. An existing AGENTS.md is kept "
                "unless you add --force.", init_command, "[--force]", "--force"),
        Command("confirm", "ask before each bash command: on or off",
                "/confirm on asks you before every bash command the model wants to run; a "
                "no is sent to the model as the command's result. /confirm off stops asking. "
                "Without an argument, shows the current state.", confirm_command, "[on|off]",
                "on|off"),
        Command("tasks", "list the delegated tasks and their status, or stop one",
                "Lists the tasks the model delegated to sub-agents (delegate_task): id, "
                "status, time, persona, the prompt's first line and the task's own "
                "workspace. /tasks stop ID stops a running task and releases its sandbox; "
                "/tasks stop all stops every running one.", tasks_command, "[stop ID|all]",
                "stop"),
        Command("undo", "undo the file changes of the agent's last step (repeatable)",
                "Puts the files the last step changed (with any tool, bash included) back as "
                "they were before it: new files removed, deleted ones back, renames undone. "
                "Each /undo goes one step further back; /redo reapplies. --chat also takes "
                "that step's messages, and every later one, out of the conversation. A file "
                "changed since the step (by you or anything else) is not overwritten unless "
                "you say yes or add --force.", undo_command, "[--chat] [--force]",
                "--chat|--force"),
        Command("redo", "reapply the step undone last",
                "Changes the files back to what the step undone last made them; with --chat "
                "its messages return to the conversation too (if nothing was said since). "
                "Files changed since the undo are not overwritten unless you say yes or add "
                "--force.", redo_command, "[--chat] [--force]", "--chat|--force"),
        Command("diff", "show what the agent changed this session, as a unified diff",
                "Shows every file the agent's steps changed this session (and did not undo) "
                "as a diff from the session's start to now: new, deleted, renamed and binary "
                "files included. /diff PATH shows one file or folder.", diff_command,
                "[PATH]", "path"),
        Command("exit", "leave (Ctrl-D does the same), stopping tasks and the sandbox",
                "Ends the session: stops its running tasks and the sandbox. A temporary "
                "workspace that holds files is kept and its place said (the terminal asks "
                "first; keep_workspace sets what happens); /exit discard removes it, /exit "
                "keep keeps it without asking. A folder you chose (--workspace) is never "
                "removed.", exit_command, "[keep|discard]", "keep|discard"),
    )
}


def is_command(line: str) -> bool:
    """True for ``/name ...`` lines; ``/usr/bin/env ...`` is a path, not a command."""
    word = line.strip().split(maxsplit=1)[0] if line.strip() else ""
    return word.startswith("/") and "/" not in word[1:]


def unknown(name: str) -> CommandOutcome:
    """Say a command does not exist, suggesting the closest one."""
    close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
    hint = f" Did you mean /{close[0]}?" if close else ""
    return CommandOutcome(f"Unknown command /{name}.{hint} /help lists the commands.",
                          is_error=True)


def run_command(session: Session, line: str) -> CommandOutcome:
    """Run one ``/name args`` line; every expected failure becomes an error outcome."""
    name, _, args = line.strip()[1:].partition(" ")
    command = COMMANDS.get(name.lower())
    if command is None:
        return unknown(name)
    try:
        return command.func(session, args)
    except (PygentError, OSError, ValueError) as exc:
        return CommandOutcome(f"/{command.name}: {exc}", is_error=True)


def find_command(name: str) -> Optional[Command]:
    """The command called ``name`` (with or without the slash), or None."""
    return COMMANDS.get(name.lstrip("/").lower())
