"""Call the built-in tools from Python, the way the agent loop does for a model."""

import json

from pygent import Agent, openai_compat


class ScriptedModel:
    """Writes a file, reads it back, then stops with its result."""

    def __init__(self) -> None:
        self.turn = 0

    def chat(self, messages, model, tools):
        self.turn += 1
        if self.turn == 1:
            args = {"path": "notes/todo.txt", "content": "1. write tests\n2. ship\n"}
            name = "write_file"
        elif self.turn == 2:
            args, name = {"cmd": "cat notes/todo.txt"}, "bash"
        else:
            args, name = {"result": "The list has two items."}, "stop"
        call = openai_compat.ToolCall(
            id=f"call{self.turn}",
            type="function",
            function=openai_compat.ToolCallFunction(name=name, arguments=json.dumps(args)),
        )
        return openai_compat.Message(role="assistant", content=None, tool_calls=[call])


ag = Agent(model=ScriptedModel())
ag.subscribe(lambda event: print(type(event).__name__, vars(event)))
result = ag.run_until_stop("Write a todo list and check it.")
print(f"finished after {result.steps} steps ({result.reason}): {result.text}")
ag.runtime.cleanup()
