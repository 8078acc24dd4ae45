"""Run one tool call by name: every mistake a model can make becomes a message, not a crash."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from ..domain.errors import SandboxError, StepCancelled, TaskError
from .registry import ToolRegistry
from .replies import mistyped_strings, parse_arguments

if TYPE_CHECKING:
    from ..domain.ports import ToolRuntime

#: How dispatch's answers begin when the tool never ran: a wrong call, or a refused one.
NOT_RUN = ("Error: unknown tool ", "Error: bad arguments for ", "Refused: ")


def did_not_run(output: str) -> bool:
    """True when ``output`` says the call was turned away before its tool ran."""
    return output.startswith(NOT_RUN)


#: Decides whether a tool call may run: ``None`` to allow it, or the refusal the model sees.
ToolGuard = Callable[[str, dict[str, Any]], Optional[str]]


def dispatch(tools: ToolRegistry, runtime: ToolRuntime, guard: Optional[ToolGuard], name: str,
             raw_arguments: str) -> tuple[str, bool]:
    """Run one tool call; every mistake becomes a message for the model, not an exception."""
    spec = tools.get(name)
    if spec is None:
        return f"Error: unknown tool {name!r}. Available tools: {tools.names()}.", True
    try:
        arguments, problem = parse_arguments(raw_arguments)
        if problem is None:
            problem = spec.check_arguments(runtime, arguments)
        if problem is None:
            problem = mistyped_strings(spec.parameters, arguments)
    except Exception as exc:  # whatever the model sent, it hears about it
        arguments, problem = {}, f"they could not be read ({type(exc).__name__}: {exc})"
    if problem is not None:
        return f"Error: bad arguments for {name}: {problem}", True
    if guard is not None:
        try:
            refusal = guard(name, arguments)
        except Exception as exc:  # a check that cannot decide refuses: fail closed
            refusal = (f"Refused: the approval check failed ({type(exc).__name__}: {exc}); "
                       "the command was not run.")
        if refusal is not None:
            return refusal, True
    try:
        return str(spec.func(runtime, **arguments)), False
    except StepCancelled:
        raise
    except (SandboxError, TaskError, ValueError, OSError) as exc:
        return f"Error: {exc}", True
    except Exception as exc:  # a tool's bug must not end the conversation
        return f"Error: tool {name} failed: {type(exc).__name__}: {exc}", True
