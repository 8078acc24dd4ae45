"""The tool registry and the module-level helpers the seed uses."""

from __future__ import annotations

import pytest

import pygent
from pygent.app.registry import ToolRegistry, builtin_tools, parameters_from_signature

TASK_TOOLS = ["delegate_task", "delegate_persona_task", "list_personas", "task_status",
              "collect_file"]


def test_the_default_tools_are_bash_write_file_stop_and_the_task_tools() -> None:
    assert pygent.tools() == ["bash", "write_file", "stop", *TASK_TOOLS]


def test_clear_remove_and_reset_act_on_the_default_registry() -> None:
    pygent.remove_tool("bash")
    assert pygent.tools() == ["write_file", "stop", *TASK_TOOLS]
    pygent.clear_tools()
    assert pygent.tools() == []
    pygent.reset_tools()
    assert pygent.tools() == ["bash", "write_file", "stop", *TASK_TOOLS]


def test_register_task_tools_puts_back_only_what_is_missing() -> None:
    pygent.clear_tools()
    assert pygent.register_task_tools() == TASK_TOOLS
    assert pygent.tools() == TASK_TOOLS
    pygent.remove_tool("task_status")
    pygent.register_task_tools()
    assert sorted(pygent.tools()) == sorted(TASK_TOOLS)


def test_registering_a_name_twice_or_removing_a_missing_one_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        pygent.register_tool("bash", "again", {}, lambda rt: "")
    with pytest.raises(ValueError, match="no tool named 'ghost'"):
        pygent.remove_tool("ghost")


def test_the_tool_decorator_takes_name_description_and_schema_from_the_function() -> None:
    @pygent.tool
    def greet(runtime: object, name: str, times: int = 1) -> str:
        """Greet someone."""
        return f"hello {name}" * times

    assert "greet" in pygent.tools()
    from pygent.app.registry import default_registry

    spec = default_registry.get("greet")
    assert spec is not None and spec.description == "Greet someone."
    assert spec.parameters == {
        "type": "object",
        "properties": {"name": {"type": "string"}, "times": {"type": "integer"}},
        "required": ["name"],
    }


def test_the_tool_decorator_takes_name_description_and_schema_positionally() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    @pygent.tool("double", "Double a number.", schema)
    def twice(runtime: object, n: int) -> str:
        return str(2 * n)

    from pygent.app.registry import default_registry

    spec = default_registry.get("double")
    assert spec is not None and spec.description == "Double a number."
    assert spec.parameters == schema and spec.func(None, n=21) == "42"
    assert "twice" not in pygent.tools()


def test_schemas_are_openai_tool_schemas() -> None:
    schema = ToolRegistry(builtin_tools()).schemas()[0]
    assert schema["type"] == "function"
    assert schema["function"]["name"] == "bash"
    assert schema["function"]["parameters"]["required"] == ["cmd"]


def test_parameters_from_signature_skips_the_runtime_argument() -> None:
    def f(runtime: object, path: str, flag: bool = False) -> str:
        return ""

    assert parameters_from_signature(f)["properties"] == {
        "path": {"type": "string"},
        "flag": {"type": "boolean"},
    }
