"""One typed Settings object from defaults, settings files, the environment and flags.

``./pygent.toml``, and any settings file inside the workspace, is a project file: the agent
can write it, so it may set only the fields whose metadata marks them ``project``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Optional

from ..domain.errors import ConfigError
from ..domain.persona import Persona
from .setting_values import KEEP_CHOICES, TOOL_PROTOCOLS, WORKSPACE_MODES, coerce
from .settings_files import PROJECT_FILE, USER_FILE, is_project_file, read_settings_file

BACKENDS = ("auto", "openai", "direct", "echo")
CONFIG_VAR = "PYGENT_CONFIG"  # the user's settings file, as --config names it
DEFAULT_MODEL = "gpt-4.1-mini"



@dataclass(frozen=True)
class Settings:
    """Every knob Pygent has; the environment wins over files, flags win over both.

    Metadata ``project``: True when a project file may set the field, ``"add"`` when its
    rules are added to the user's, ``"on"`` when it may only switch it on (to the value
    ``on`` names, ``True`` unless given); absent, never.
    ``flag``: how ``pygent`` and ``pygent-ui`` take it on the command line (``--max-steps N``;
    a bare ``--confirm`` switches it on; ``--docker | --no-docker`` on or off), ``choices``.
    """

    backend: str = field(default="auto", metadata={"env": "PYGENT_MODEL_BACKEND",
        "flag": "--backend", "choices": BACKENDS,
        "doc": "Model backend: auto (openai when local_model, OPENAI_API_KEY or "
               "OPENAI_BASE_URL is set, else direct), openai, direct or echo."})
    model: str = field(default=DEFAULT_MODEL, metadata={"env": "PYGENT_MODEL",
        "project": True, "flag": "--model NAME",
        "doc": "Model name sent to the OpenAI-compatible server (with local_model, the "
               "file's name without .gguf unless set)."})
    base_url: Optional[str] = field(default=None, metadata={"env": "OPENAI_BASE_URL",
        "doc": "Base URL of an OpenAI-compatible server."})
    local_model: Optional[str] = field(default=None, metadata={"env": "PYGENT_LOCAL_MODEL",
        "flag": "--local-model PATH",
        "doc": "A .gguf model file to serve with llama.cpp on 127.0.0.1 for the session "
               "(pip install 'pygent[local]'); the openai backend then talks to it."})
    temperature: Optional[float] = field(default=None, metadata={
        "env": "PYGENT_TEMPERATURE", "project": True, "flag": "--temperature T",
        "doc": "Sampling temperature sent with each request (0 to 2); unset leaves it to "
               "the server."})
    seed: Optional[int] = field(default=None, metadata={"env": "PYGENT_SEED",
        "project": True, "flag": "--seed N",
        "doc": "Sampling seed sent with each request, for repeatable replies where the "
               "server honours it; unset leaves it to the server."})
    request_timeout: float = field(default=120.0, metadata={"env": "PYGENT_REQUEST_TIMEOUT",
        "project": True,
        "doc": "Seconds to wait for one model reply."})
    max_retries: int = field(default=2, metadata={"env": "PYGENT_MAX_RETRIES",
        "project": True,
        "doc": "Retries (with backoff) for connection errors, 429 and 5xx replies."})
    max_requests: Optional[int] = field(default=None, metadata={
        "env": "PYGENT_MAX_REQUESTS", "flag": "--max-requests N",
        "doc": "Most model requests in flight at once across one run: a pygent batch (on "
               "any executor, every node counted), or one session with its delegated tasks; "
               "unset means no limit."})
    stream: bool = field(default=True, metadata={"env": "PYGENT_STREAM",
        "project": True,
        "doc": "Stream model replies, so text shows as it arrives (0 to wait for whole replies)."})
    tool_choice: Optional[str] = field(default=None, metadata={"env": "PYGENT_TOOL_CHOICE",
        "project": True,
        "doc": "tool_choice sent with tools: auto, required, none, or a tool name to force; "
               "unset leaves it to the server (auto)."})
    use_docker: Optional[bool] = field(default=None, metadata={"env": "PYGENT_USE_DOCKER",
        "flag": "--docker | --no-docker",
        "doc": "Run commands in Docker (1), locally (0), or Docker when available (unset)."})
    confine: Optional[bool] = field(default=None, metadata={"env": "PYGENT_CONFINE",
        "doc": "Confine local commands with bubblewrap (bwrap): 1 requires it, 0 never, "
               "unset when it works here."})
    local_network: bool = field(default=False, metadata={"env": "PYGENT_LOCAL_NETWORK",
        "doc": "Let confined local commands use the network (Docker: docker_network)."})
    image: str = field(default="python:3.12-slim", metadata={"env": "PYGENT_IMAGE",
        "doc": "Docker image for the sandbox."})
    docker_network: str = field(default="none", metadata={"env": "PYGENT_DOCKER_NETWORK",
        "doc": "Docker network the sandbox joins: none (no network) or e.g. bridge to opt in."})
    docker_memory: str = field(default="2g", metadata={"env": "PYGENT_DOCKER_MEMORY",
        "doc": "Memory limit of the sandbox container (e.g. 512m, 2g); no swap beyond it."})
    docker_cpus: float = field(default=2.0, metadata={"env": "PYGENT_DOCKER_CPUS",
        "doc": "CPUs the sandbox container may use."})
    docker_pids: int = field(default=512, metadata={"env": "PYGENT_DOCKER_PIDS",
        "doc": "Most processes alive at once in the sandbox container (bounds fork bombs)."})
    workspace: Optional[str] = field(default=None, metadata={"env": "PYGENT_WORKSPACE",
        "flag": "--workspace DIR",
        "doc": "The folder the agent works in (--workspace . for the current one); unset, a "
               "fresh temporary folder, kept at exit when it holds files (keep_workspace)."})
    workspace_mode: str = field(default="write", metadata={"env": "PYGENT_WORKSPACE_MODE",
        "project": "on", "on": "read-only", "flag": "--workspace-mode",
        "choices": WORKSPACE_MODES,
        "doc": "write, or read-only: the agent reads and runs but may not change the "
               "workspace (Docker and confined local: a read-only mount; unconfined local: "
               "only the file tools refuse, commands are not confined)."})
    keep_workspace: str = field(default="ask", metadata={"env": "PYGENT_KEEP_WORKSPACE",
        "flag": "--keep-workspace", "choices": KEEP_CHOICES,
        "doc": "What leaving pygent or pygent-ui does with a temporary workspace that holds "
               "files: ask (the REPL asks, anything else keeps it and says where), always "
               "keep it, or never (remove it, as /exit discard does once). An empty one is "
               "removed."})
    command_timeout: float = field(default=600.0, metadata={"env": "PYGENT_COMMAND_TIMEOUT",
        "doc": "Seconds before a command is killed."})
    output_limit: int = field(default=65536, metadata={"env": "PYGENT_OUTPUT_LIMIT",
        "doc": "Bytes of command output the model sees (head and tail kept)."})
    checkpoints: bool = field(default=True, metadata={"env": "PYGENT_CHECKPOINTS",
        "project": "on", "flag": "--checkpoints | --no-checkpoints",
        "doc": "Snapshot the workspace around each step that runs tools, outside it, so "
               "/undo, /redo and /diff work (needs git; 0 switches them off)."})
    persona_name: str = field(default="Pygent", metadata={"env": "PYGENT_PERSONA_NAME",
        "project": True,
        "doc": "The agent's name, shown in the banner and the system prompt."})
    persona: Optional[str] = field(default=None, metadata={"env": "PYGENT_PERSONA",
        "project": True,
        "doc": "One-line description of the agent for the system prompt."})
    project_instructions: bool = field(default=True, metadata={
        "env": "PYGENT_PROJECT_INSTRUCTIONS", "project": True,
        "doc": "Read AGENTS.md from the workspace and the folders above it (up to the git "
               "repository's root or your home) into the system prompt at the start of each "
               "conversation: at most 32 KB (8 KB with local_model); 0 reads none."})
    history_file: Optional[str] = field(default=None, metadata={"env": "PYGENT_HISTORY_FILE",
        "doc": "File the conversation is appended to and resumed from: JSON lines, or a "
               "JSON array of messages (earlier releases), which is kept an array."})
    max_steps: int = field(default=20, metadata={"env": "PYGENT_MAX_STEPS",
        "project": True, "flag": "--max-steps N",
        "doc": "Most model steps per task before the run stops."})
    max_tokens: Optional[int] = field(default=None, metadata={"env": "PYGENT_MAX_TOKENS",
        "project": True, "flag": "--max-tokens N",
        "doc": "Most prompt plus completion tokens per task (as the server counts them) "
               "before the run stops; unset means no limit."})
    recover_text_tool_calls: bool = field(default=True, metadata={
        "env": "PYGENT_RECOVER_TOOL_CALLS", "project": True,
        "doc": "Treat tool calls a model writes as text (JSON, <tool_call>) as real calls."})
    tool_protocol: str = field(default="auto", metadata={"env": "PYGENT_TOOL_PROTOCOL",
        "project": True, "flag": "--tool-protocol", "choices": TOOL_PROTOCOLS,
        "doc": "How tools reach the model: native (tool schemas, tool_calls replies), text "
               "(tools described in the prompt, calls written as text), or auto (text with "
               "local_model, else native)."})
    example_task: Optional[bool] = field(default=None, metadata={
        "env": "PYGENT_EXAMPLE_TASK", "project": True,
        "doc": "With the text protocol, show the model a short solved task (look, write the "
               "file, run the check, stop) as earlier turns before the conversation (unset: "
               "on, except for a local_model file under 1 GB: models that small copy it word "
               "for word)."})
    text_reply_limit: int = field(default=3, metadata={"env": "PYGENT_TEXT_REPLY_LIMIT",
        "project": True,
        "doc": "Replies without a tool call in a row that an unattended run accepts "
               "before it stops (at least 1)."})
    check_before_stop: Optional[bool] = field(default=None, metadata={
        "env": "PYGENT_CHECK_BEFORE_STOP", "project": True,
        "doc": "Answer an unattended run's first stop with what changed, the output of the "
               "commands the task names, and a request to check the result first (unset: "
               "on with the text protocol, which small models use)."})
    read_before_write: Optional[bool] = field(default=None, metadata={
        "env": "PYGENT_READ_BEFORE_WRITE", "project": True,
        "doc": "In an unattended run, turn a write over an existing file the run has not "
               "looked at into reading it, once per file (unset: on with the text protocol, "
               "where small models rewrite files they never read)."})
    ask_user: Optional[bool] = field(default=None, metadata={
        "env": "PYGENT_ASK_USER", "project": True,
        "doc": "Give the model an ask_user tool that ends the turn with a question for you "
               "(unset: on in pygent and pygent-ui sessions, off for pygent run and Agent())."})
    task_tools: Optional[bool] = field(default=None, metadata={
        "env": "PYGENT_TASK_TOOLS", "project": True,
        "doc": "Give the model the task tools (delegate_task, task_status, ...) to hand work "
               "to sub-agents (unset: on, except with the text protocol, where small local "
               "models pay for every schema token)."})
    task_personas: list[Persona] = field(default_factory=list, metadata={
        "env": "PYGENT_TASK_PERSONAS", "env_json": "PYGENT_TASK_PERSONAS_JSON",
        "project": True,
        "doc": "Personas for delegated tasks, used in turn or chosen by name: names separated "
               "by the path separator, a JSON list of {name, description} "
               "(PYGENT_TASK_PERSONAS_JSON), or [[task_personas]] tables in a settings file."})
    max_tasks: int = field(default=3, metadata={"env": "PYGENT_MAX_TASKS",
        "doc": "Most delegated tasks running at once; another is refused until one ends."})
    step_timeout: Optional[float] = field(default=None, metadata={
        "env": "PYGENT_STEP_TIMEOUT",
        "doc": "Seconds one step of a delegated task may take before the task is stopped "
               "(unset: no limit beyond command_timeout and request_timeout)."})
    task_timeout: Optional[float] = field(default=None, metadata={
        "env": "PYGENT_TASK_TIMEOUT",
        "doc": "Seconds a delegated task may run in all before it is stopped (unset: no "
               "limit beyond max_steps)."})
    confirm: bool = field(default=False, metadata={"env": "PYGENT_CONFIRM",
        "project": "on", "flag": "--confirm",
        "doc": "Ask before each bash command the model runs (--confirm, /confirm on|off)."})
    deny: list[str] = field(default_factory=list, metadata={"env": None,
        "project": "add",
        "doc": "Commands to refuse, a guard against a model's mistakes, not a boundary "
               '(deny = ["git push", "rm -rf /"]; see docs/security.md#deny-rules).'})
    initial_files: list[str] = field(default_factory=list, metadata={
        "env": "PYGENT_INIT_FILES",
        "doc": "Host files or folders copied into the workspace at start (in the variable, "
               "paths separated by the path separator, ':' on Linux and macOS)."})
    env: dict[str, str] = field(default_factory=dict, metadata={"env": None,
        "doc": "Extra environment variables for sandboxed commands (pygent.toml [env] table)."})

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given non-``None`` values replaced (how flags are applied)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(
    config_file: Optional[str] = None,
    environ: Optional[dict[str, str]] = None,
    cwd: Optional[Path] = None,
    workspace: Optional[str] = None,
) -> Settings:
    """Read the user's file, then project files, then the environment (flags come after).

    The user's file is ``config_file``, else ``PYGENT_CONFIG``, else ``~/.pygent.toml``.
    ``./pygent.toml`` is a project file, and so is any settings file inside the workspace
    (``workspace`` is the ``--workspace`` flag, else ``PYGENT_WORKSPACE``, else the user's
    file): the agent can write those, so they may set only what the ``project`` metadata
    allows.
    """
    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else Path(cwd)
    config_file = config_file or environ.get(CONFIG_VAR) or None
    explicit = cwd / Path(config_file).expanduser() if config_file else None
    user_file = explicit or Path(environ.get("HOME") or Path.home()) / USER_FILE
    folder = workspace or environ.get("PYGENT_WORKSPACE") or None
    projects = [] if explicit else [cwd / PROJECT_FILE]
    trusted: Optional[dict[str, Any]] = None
    if is_project_file(user_file, folder, cwd):
        projects.insert(0, user_file)
    else:
        trusted = _read_user_file(user_file, required=explicit is not None)
        if folder is None and trusted and trusted.get("workspace"):
            folder = str(trusted["workspace"])
            if is_project_file(user_file, folder, cwd):  # it names a workspace it lies in
                trusted = None
                projects.insert(0, user_file)
    values = dict(trusted or {})
    added_rules: list[str] = []
    for path in projects:
        taken, rules = _project_values(path, required=path == explicit)
        values.update(taken)
        added_rules += rules
    for f in fields(Settings):
        for var in (f.metadata.get("env"), f.metadata.get("env_json")):
            if var and environ.get(var, "") != "":
                values[f.name] = _from_json(var, environ[var]) if var == f.metadata.get(
                    "env_json") else environ[var]
    settings = _validated(values, user_file if trusted is not None else None)
    extra = [rule for rule in dict.fromkeys(added_rules) if rule not in settings.deny]
    return replace(settings, deny=settings.deny + extra) if extra else settings


def load_config(path: str | Path) -> Settings:
    """Use ``path`` as the settings file from now on (``PYGENT_CONFIG``); its settings.

    Agents built afterwards without ``settings=`` read it as ``--config`` would; the
    environment still wins over it. A missing file or an unknown key is a ConfigError.
    """
    full = str(Path(path).expanduser().resolve())
    settings = load_settings(full)
    os.environ[CONFIG_VAR] = full
    return settings


def _read_user_file(path: Path, required: bool) -> Optional[dict[str, Any]]:
    """The user's own settings file, None when absent; it may be a symlink (dotfile managers)."""
    try:
        data = read_settings_file(path, follow_symlinks=True)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return None
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {unknown}; known: {sorted(known)}")
    return data


def _project_values(path: Path, required: bool) -> tuple[dict[str, Any], list[str]]:
    """What a project file may set, and the deny rules it adds; the rest is only warned about.

    Nothing in a project file can make the start fail: the agent may have written it.
    """
    try:
        data = read_settings_file(path, follow_symlinks=False)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}, []
    except ConfigError as exc:
        _warn(f"ignored a project settings file: {exc}")
        return {}, []
    kinds = {f.name: f for f in fields(Settings)}
    taken: dict[str, Any] = {}
    rules: list[str] = []
    refused: list[str] = []
    for name, value in data.items():
        kind = kinds.get(name)
        if kind is None:
            continue  # reported below, with the others
        allowed = kind.metadata.get("project")
        if not allowed:
            refused.append(name)
            continue
        try:
            value = coerce(name, value, kind.default)
        except (TypeError, ValueError, RecursionError) as exc:
            _warn(f"{path}: ignored {name}: {exc}")
            continue
        if allowed == "add":
            rules += value
        elif allowed == "on" and value != kind.metadata.get("on", True):
            refused.append(f"{name} = {str(value).lower()}")  # it may only tighten
        else:
            taken[name] = value
    unknown = sorted(set(data) - set(kinds))
    if unknown:
        _warn(f"{path}: ignored unknown setting(s) {', '.join(unknown)} "
              "(docs/configuration.md lists them)")
    if refused:
        _warn(_refusal(path, refused, kinds))
    return taken, rules


def _warn(text: str) -> None:
    """Warn in one line on the ``pygent`` logger; what the agent wrote cannot drive a terminal."""
    import logging

    from ..domain.visible import visible

    logging.getLogger("pygent").warning("%s", visible(text, keep_newlines=False))


def _refusal(path: Path, refused: list[str], kinds: dict[str, Any]) -> str:
    """The one warning line for settings a project file may not set, and where they go."""
    names = [entry.split(" ", 1)[0] for entry in refused]
    variables = [kinds[name].metadata["env"] for name in names if kinds[name].metadata["env"]]
    where = f"the environment ({', '.join(variables)}), " if variables else ""
    them = "it" if len(refused) == 1 else "them"
    return (f"{path}: ignored {', '.join(refused)}: the agent can write this file, so it may "
            f"not weaken the sandbox or reach outside it; set {them} in ~/.pygent.toml, "
            f"{where}or with a flag")


def _from_json(var: str, text: str) -> Any:
    """A variable that holds JSON, read as JSON: a mistake in it names the variable."""
    import json

    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{var} is not valid JSON: {exc}") from None


def _validated(values: dict[str, Any], source: Optional[Path]) -> Settings:
    kinds = {f.name: f for f in fields(Settings)}
    clean: dict[str, Any] = {}
    for name, value in values.items():
        default = kinds[name].default
        try:
            clean[name] = coerce(name, value, default)
        except (TypeError, ValueError) as exc:
            where = f" (from {source})" if source else ""
            raise ConfigError(f"setting {name}{where}: {exc}") from exc
    settings = Settings(**clean)
    if settings.backend not in BACKENDS:
        raise ConfigError(
            f"PYGENT_MODEL_BACKEND / backend is {settings.backend!r}; "
            f"allowed: {', '.join(BACKENDS)}"
        )
    return settings
