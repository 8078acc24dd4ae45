"""The composition root: one dependency-injector container per settings object builds it all.

``Agent()`` and ``Runtime()`` build theirs from the settings they are given (or load them), so
nothing is looked up globally. Heavy SDKs are imported inside the factory functions, so building
a container is cheap. Tests swap an adapter for every container made meanwhile with
``with Container.model.override(...):`` (or ``sandbox``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional

from dependency_injector import containers, providers

from .app.approval import Approval
from .app.checkpoints import Checkpoints
from .app.registry import ToolRegistry, default_registry, with_ask_user, without_task_tools
from .app.request_gate import GatedModel
from .app.settings import DEFAULT_MODEL, Settings, load_settings
from .domain.instructions import InstructionsReader
from .domain.persona import DEFAULT_DESCRIPTION, Persona
from .domain.ports import CheckpointStore, Executor, HistoryPort, ModelPort, SandboxPort
from .models import custom_model
from .runtime import Runtime
from .tasks import TaskManager

log = logging.getLogger("pygent")

#: A variable is secret when one of the ``_``-separated parts of its name is one of these:
#: ``GITHUB_TOKEN`` and ``MY_API_KEY`` are, ``TOKENIZERS_PARALLELISM`` and ``KEYBOARD`` are not.
SECRET_WORDS = frozenset(
    {"KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS", "PAT"}
)
#: Secret whatever their names say: the model API key and the web page's per-launch token.
SECRET_VARIABLES = ("OPENAI_API_KEY", "PYGENT_UI_TOKEN")
#: Said at the start of a read-only session whose local commands run unconfined.
UNENFORCED_READ_ONLY = (
    "Read-only applies to the file tools only: local commands run unconfined, so a command "
    "can still change or delete files in the workspace (use Docker, or install bubblewrap, "
    "to make the workspace read-only for commands too)")


def resolve_backend(settings: Settings, environ: Optional[dict[str, str]] = None) -> str:
    """``auto`` means openai when a local model, an API key or a server URL is set, else direct."""
    environ = dict(os.environ) if environ is None else environ
    if settings.backend != "auto":
        return settings.backend
    wants_server = settings.local_model or environ.get("OPENAI_API_KEY") or settings.base_url
    return "openai" if wants_server else "direct"


def model_source(backend: str) -> str:
    """``custom`` after ``pygent.models.set_custom_model(...)``, else the resolved backend."""
    return "custom" if custom_model() is not None else backend


def resolve_tool_protocol(settings: Settings) -> str:
    """``native`` or ``text``; ``auto`` is text for a small model served in-process."""
    if settings.tool_protocol != "auto":
        return settings.tool_protocol
    return "text" if settings.local_model else "native"


#: Model files under this size get no example task by default: Qwen2.5-Coder-0.5B (491 MB)
#: copied it word for word (it created double.py), while the 1.5B model (1.1 GB) gained by it.
EXAMPLE_MIN_BYTES = 1_000_000_000


def resolve_example_task(settings: Settings) -> bool:
    """Unset means on, except for a local model file under :data:`EXAMPLE_MIN_BYTES`."""
    if settings.example_task is not None:
        return settings.example_task
    if not settings.local_model:
        return True
    try:
        return Path(settings.local_model).expanduser().stat().st_size >= EXAMPLE_MIN_BYTES
    except OSError:  # the local model's own check says what is wrong with the file
        return False


def resolve_model_name(settings: Settings) -> str:
    """The model name requests carry: a local model's file name (no ``.gguf``) unless one is set."""
    if settings.local_model and settings.model == DEFAULT_MODEL:
        return Path(settings.local_model).stem
    return settings.model


def is_secret_name(name: str) -> bool:
    """True for a variable whose name declares a secret (a part like KEY, TOKEN or PAT)."""
    upper = name.upper()
    return upper in SECRET_VARIABLES or any(part in SECRET_WORDS for part in upper.split("_"))


def host_secrets(environ: Optional[dict[str, str]] = None) -> list[str]:
    """Values of the host's secret variables, longest first, so logs can redact them."""
    environ = dict(os.environ) if environ is None else environ
    values = {value for name, value in environ.items() if value and is_secret_name(name)}
    return sorted(values, key=lambda value: (-len(value), value))


def serve_local_model(settings: Settings) -> Iterator[Any]:
    """The llama.cpp server for ``local_model`` (None without one), stopped at shutdown.

    A container resource: ``container.shutdown_resources()`` ends it, and so does the exit.
    """
    if not settings.local_model:
        yield None
        return
    from .adapters.llama_server import LlamaCppServer

    server = LlamaCppServer(settings.local_model, progress=log.info).start()
    try:
        yield server
    finally:
        server.close()


def make_openai_model(settings: Settings, local_server: Any = None) -> ModelPort:
    """The OpenAI-compatible model adapter, configured from settings.

    With a local server it goes there with the server's own key: the user's OPENAI_API_KEY
    and OPENAI_BASE_URL are never used for it. With ``max_requests`` its requests wait for a
    slot of a gate of its own: the container makes one model, which a session's agent and its
    delegated tasks share, so together they keep to the limit.
    """
    from .adapters.openai_model import OpenAIModel

    model = OpenAIModel(
        resolve_model_name(settings),
        api_key=local_server.api_key if local_server is not None else None,
        base_url=local_server.base_url if local_server is not None else settings.base_url,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        stream=settings.stream,
        tool_choice=settings.tool_choice,
        temperature=settings.temperature,
        seed=settings.seed,
    )
    if settings.max_requests is None:
        return model
    from .adapters.executors.threads import ThreadGate

    return GatedModel(model, ThreadGate(settings.max_requests))


def make_offline_model(backend: str) -> ModelPort:
    """The ``direct`` or ``echo`` model, which need no server and no SDK."""
    if backend == "echo":
        from .adapters.echo_model import EchoModel

        return EchoModel()
    from .adapters.direct_model import DirectModel

    return DirectModel()


def open_sandbox(settings: Settings) -> SandboxPort:
    """A sandbox for ``settings.use_docker``: Docker when asked (or available), else local.

    Forced Docker never falls back: its error says what is wrong and how to fix it.
    """
    if settings.use_docker is False:
        return make_local_sandbox(settings)
    from .adapters.sandbox.docker_engine import DockerUnavailable

    try:
        return make_docker_sandbox(settings)
    except DockerUnavailable as exc:
        if settings.use_docker:
            raise
        log.warning("Docker is not available, running commands locally: %s", exc)
        return make_local_sandbox(settings)


def make_docker_sandbox(settings: Settings) -> SandboxPort:
    """The Docker sandbox, hardened and limited as the settings say."""
    from .adapters.sandbox.docker import DockerSandbox

    return DockerSandbox(
        settings.workspace,
        image=settings.image,
        timeout=settings.command_timeout,
        output_limit=settings.output_limit,
        env=settings.env,
        network=settings.docker_network,
        memory=settings.docker_memory,
        cpus=settings.docker_cpus,
        pids=settings.docker_pids,
        progress=log.info,  # image pulls take a while; the CLI shows the pygent logger
        read_only=settings.workspace_mode == "read-only",
    )


def make_local_sandbox(settings: Settings) -> SandboxPort:
    """The host sandbox."""
    from .adapters.sandbox.local import LocalSandbox

    sandbox = LocalSandbox(
        settings.workspace,
        timeout=settings.command_timeout,
        output_limit=settings.output_limit,
        env=settings.env,
        confine=settings.confine,
        network=settings.local_network,
        read_only=settings.workspace_mode == "read-only",
    )
    if sandbox.unconfined_reason.startswith("bubblewrap cannot"):  # installed, yet failing
        log.warning("Local commands run unconfined: %s", sandbox.unconfined_reason)
    if sandbox.read_only and not sandbox.confined:
        log.warning("%s", UNENFORCED_READ_ONLY)
    return sandbox


def make_executor(kind: str, workers: int, settings: Settings,
                  address: Optional[str] = None) -> Executor:
    """Where batch jobs run: threads here, or Ray tasks (on Docker nodes when Docker is asked)."""
    if kind == "ray":
        from .adapters.executors.ray import RayExecutor
        from .batch import cancel_running

        resources = {"docker": 1.0} if settings.use_docker else None
        return RayExecutor(workers, address=address, resources=resources,
                           interrupt=cancel_running)
    from .adapters.executors.threads import ThreadExecutor

    return ThreadExecutor(workers)


def infrastructure_test(kind: str) -> Callable[[BaseException], bool]:
    """Whether a job's failure is the executor's (a rerun with --retry-errors tries again).

    A batch job returns its own errors as results, so whatever a thread job raises is ours;
    on Ray, the adapter tells a dead worker or a lost node from a job's error.
    """
    if kind == "ray":
        from .adapters.executors.ray import infrastructure_error

        return infrastructure_error
    return lambda exc: True


def make_history(settings: Settings) -> Optional[HistoryPort]:
    """The JSONL conversation log when ``history_file`` is set, else None."""
    if not settings.history_file:
        return None
    from .adapters.history_store import JsonlHistory

    return JsonlHistory(settings.history_file, secrets=host_secrets(), warn=log.warning)


def make_guard(settings: Settings) -> Approval:
    """The deny rules; with ``confirm`` and nobody to ask (an entrypoint gives ``ask``), refusal."""
    return Approval(settings.deny, confirm=settings.confirm)


def make_persona(settings: Settings) -> Persona:
    """The persona named by the settings."""
    return Persona(settings.persona_name, settings.persona or DEFAULT_DESCRIPTION)


def make_instructions_reader(settings: Settings) -> Optional[InstructionsReader]:
    """Reads a workspace's AGENTS.md files (and those above it, up to home), or None when off.

    The limit is smaller with a model served in-process: its context holds 8,192 tokens.
    """
    if not settings.project_instructions:
        return None
    from .adapters.project_instructions import LIMIT, LOCAL_MODEL_LIMIT, read_project_instructions

    limit = LOCAL_MODEL_LIMIT if settings.local_model else LIMIT
    return partial(read_project_instructions, home=Path(os.path.expanduser("~")), limit=limit)


def resolve_task_tools(settings: Settings) -> bool:
    """Unset means on, except with the text protocol: small models pay for every schema."""
    on = settings.task_tools
    return resolve_tool_protocol(settings) != "text" if on is None else on


def make_tools(settings: Settings) -> ToolRegistry:
    """The shared registry, or a copy with ``ask_user`` or without the task tools."""
    tools = with_ask_user(default_registry, settings.ask_user is True)
    return tools if resolve_task_tools(settings) else without_task_tools(tools)


def task_settings(settings: Settings, kind: str) -> Settings:
    """A delegated agent's settings: the parent's, in a fresh workspace of the parent's kind.

    No history file, no start files, nobody to ask, no checkpoints (nobody undoes a
    task's steps), and no task tools: a task may not delegate again. Its own scratch
    workspace is writable; a read-only parent still refuses what it would collect from it.
    """
    return replace(settings, use_docker=kind == "docker", workspace=None, history_file=None,
                   initial_files=[], ask_user=False, task_tools=False, workspace_mode="write",
                   checkpoints=False)


def resolve_check_before_stop(settings: Settings) -> bool:
    """Unset means on with the text protocol, where small models stop before they check."""
    check = settings.check_before_stop
    return resolve_tool_protocol(settings) == "text" if check is None else check


def resolve_read_before_write(settings: Settings) -> bool:
    """Unset means on with the text protocol, where small models overwrite unread files."""
    read = settings.read_before_write
    return resolve_tool_protocol(settings) == "text" if read is None else read


def make_checkpoints(settings: Settings, runtime: Any) -> Checkpoints:
    """Checkpoints of the runtime's workspace, in a git store opened at the first step.

    Off when the settings say so, or (with one warning) when git is not installed.
    """
    if not settings.checkpoints:
        return Checkpoints.off("checkpoints are switched off (checkpoints = false, "
                               "PYGENT_CHECKPOINTS=0 or --no-checkpoints)")
    if getattr(runtime, "workspace", None) is None:
        return Checkpoints.off("this runtime has no workspace folder on this machine")
    from .adapters.host_git import find_git

    workspace = Path(runtime.workspace)
    git = find_git(workspace)
    if git is None:
        log.warning("Checkpoints are off: git is not installed, so /undo and /diff cannot work.")
        return Checkpoints.off("git is not installed; install it to undo steps")
    adopt = getattr(getattr(runtime, "sandbox", None), "adopt", None)

    def open_store() -> CheckpointStore:
        from .adapters.checkpoint_store import GitCheckpointStore

        return GitCheckpointStore(workspace, git=git, adopt=adopt, on_fallback=log.info)

    return Checkpoints(open_store, workspace=workspace)


class Container(containers.DeclarativeContainer):
    """Settings in, the agent's parts out: ``Container(settings=...)``, one per settings object."""

    settings = providers.Dependency(instance_of=Settings)
    backend = providers.Callable(resolve_backend, settings)
    local_server = providers.Resource(serve_local_model, settings)
    model = providers.Selector(
        providers.Callable(model_source, backend),
        custom=providers.Callable(custom_model),
        openai=providers.Singleton(make_openai_model, settings, local_server),
        direct=providers.Factory(make_offline_model, "direct"),
        echo=providers.Factory(make_offline_model, "echo"),
    )
    sandbox = providers.Factory(open_sandbox, settings=settings)
    runtime = providers.Factory(Runtime, sandbox=sandbox,
                                initial_files=settings.provided.initial_files)
    history = providers.Factory(make_history, settings=settings)
    persona = providers.Factory(make_persona, settings=settings)
    guard = providers.Factory(make_guard, settings=settings)
    tools = providers.Callable(make_tools, settings)
    #: Builds the settings' model only when a task starts (an Agent may have been given one).
    task_manager = providers.Factory(TaskManager, settings=settings, model=model.provider)
    #: Called with the agent's runtime, once it has one: ``container.checkpoints(runtime=r)``.
    checkpoints = providers.Factory(make_checkpoints, settings=settings)
    #: The agent loop's arguments; the runtime last, so a failure before it leaves no sandbox.
    agent_parts = providers.Dict(
        model=model,
        tools=tools,
        persona=persona,
        model_name=providers.Callable(resolve_model_name, settings),
        history=history,
        guard=guard,
        recover_text_tool_calls=settings.provided.recover_text_tool_calls,
        tool_protocol=providers.Callable(resolve_tool_protocol, settings),
        text_reply_limit=settings.provided.text_reply_limit,
        example_task=providers.Callable(resolve_example_task, settings),
        check_before_stop=providers.Callable(resolve_check_before_stop, settings),
        read_before_write=providers.Callable(resolve_read_before_write, settings),
        max_steps=settings.provided.max_steps,
        max_tokens=settings.provided.max_tokens,
        read_instructions=providers.Callable(make_instructions_reader, settings),
        runtime=runtime,
    )


def container_for(settings: Optional[Settings] = None) -> Container:
    """The container for ``settings``, loaded the usual way (files, environment) when None."""
    return Container(settings=settings if settings is not None else load_settings())
