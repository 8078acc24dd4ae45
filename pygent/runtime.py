"""``Runtime``: the sandbox a session's tools run in, Docker or local."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from .domain.ports import SandboxPort
from .domain.sandbox import CommandResult, is_script

if TYPE_CHECKING:
    from .app.tasks import TaskManager


class Runtime:
    """Runs commands and moves files in one workspace; ``cleanup()`` releases it.

    ``tasks`` is the task manager the task tools use from this runtime (an ``Agent`` sets
    it); ``task_depth`` is 1 in a delegated task's runtime, which may not delegate again.
    """

    tasks: Optional[TaskManager] = None
    task_depth: int = 0

    def __init__(
        self,
        image: Optional[str] = None,
        use_docker: Optional[bool] = None,
        workspace: Optional[str | Path] = None,
        initial_files: Optional[list[str]] = None,
        *,
        sandbox: Optional[SandboxPort] = None,
        settings: Any = None,
    ) -> None:
        if sandbox is None:
            from .app.settings import load_settings
            from .container import Container

            base = settings if settings is not None else load_settings()
            merged = base.with_overrides(
                image=image,
                use_docker=use_docker,
                workspace=str(workspace) if workspace is not None else None,
            )
            sandbox = Container(settings=merged).sandbox()
            if initial_files is None:
                initial_files = merged.initial_files
        self.sandbox: SandboxPort = sandbox
        self._on_cleanup: list[Callable[[Runtime], None]] = []
        try:
            for path in initial_files or []:
                self.upload_file(path)
        except BaseException:
            sandbox.close()  # a missing initial file leaves no sandbox behind
            raise

    @property
    def use_docker(self) -> bool:
        """True when commands run in a Docker container."""
        return self.sandbox.kind == "docker"

    @property
    def label(self) -> str:
        """Where commands run: ``Docker``, ``local (confined)`` or ``local (unconfined)``."""
        label = getattr(self.sandbox, "label", None)
        return str(label) if label else {"docker": "Docker"}.get(self.kind, self.kind)

    @property
    def kind(self) -> str:
        """``"docker"`` or ``"local"``."""
        return self.sandbox.kind

    @property
    def workspace(self) -> Path:
        """The host folder the commands work in."""
        return self.sandbox.workspace

    @property
    def temporary(self) -> bool:
        """True when the workspace is a fresh folder made for this runtime (no ``workspace``
        was given), which ``cleanup()`` removes unless ``keep_workspace()`` was called."""
        return bool(getattr(self.sandbox, "temporary", False))

    @property
    def read_only(self) -> bool:
        """True when writes to the workspace are refused (``workspace_mode = "read-only"``)."""
        return bool(getattr(self.sandbox, "read_only", False))

    def keep_workspace(self, keep: bool = True) -> None:
        """Have ``cleanup()`` leave a temporary workspace in place when it holds files (or,
        with ``keep=False``, remove it again, the default); ``pygent`` keeps its sessions'."""
        if hasattr(self.sandbox, "keep"):
            setattr(self.sandbox, "keep", keep)  # noqa: B010 (a port of your own may lack it)

    def run(self, cmd: str, timeout: Optional[float] = None) -> CommandResult:
        """Run a command and return the whole result."""
        return self.sandbox.run(cmd, timeout)

    def bash(self, cmd: str, timeout: Optional[float] = None) -> str:
        """Run a command and return the text the model sees (output and any status)."""
        return self.sandbox.run(cmd, timeout).to_text()

    def write_file(self, path: str, content: str) -> str:
        """Create or overwrite a text file in the workspace; say what was written."""
        self.sandbox.write_file(path, content)
        made = " and made it executable (it starts with #!)" if is_script(content) else ""
        return f"Wrote {len(content.encode('utf-8'))} bytes to {path}{made}"

    def read_file(self, path: str) -> str:
        """Read a text file from the workspace."""
        return self.sandbox.read_file(path)

    def upload_file(self, src: str | Path, dest: Optional[str] = None) -> Path:
        """Copy a host file or folder into the workspace; return where it landed."""
        return self.sandbox.copy_in(str(src), dest)

    def export_file(self, path: str, dest: str | Path) -> Path:
        """Copy a workspace file or folder to the host; return where it landed."""
        return self.sandbox.copy_out(path, dest)

    def interrupt(self) -> None:
        """From another thread: stop the command running now (the web app's stop button)."""
        self.sandbox.interrupt()

    def on_cleanup(self, callback: Callable[[Runtime], None]) -> None:
        """Call ``callback(self)`` first thing in ``cleanup()`` (tasks started from here stop)."""
        if callback not in self._on_cleanup:
            self._on_cleanup.append(callback)

    def cleanup(self) -> None:
        """Stop the tasks started from here, then the sandbox; a temporary workspace is
        removed (unless ``keep_workspace()`` was called and it holds files). Safe to call
        twice."""
        callbacks, self._on_cleanup = self._on_cleanup, []
        try:
            for callback in callbacks:
                callback(self)
        finally:
            self.sandbox.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
