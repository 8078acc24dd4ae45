"""Task personas and limits from a settings file, loaded with ``pygent.load_config``."""

import json
import tempfile
from pathlib import Path

import pygent
from pygent import Agent

SETTINGS = """\
max_tasks = 2

[[task_personas]]
name = "tester"
description = "Writes and runs tests; reports what failed."

[[task_personas]]
name = "writer"
description = "Writes clear documentation."
"""

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "pygent.toml"
    path.write_text(SETTINGS)
    settings = pygent.load_config(path)  # every Agent() built from now on reads this file
    print("max_tasks:", settings.max_tasks)
    print("personas:", [persona.name for persona in settings.task_personas])

    with Agent() as ag:

        def call(tool, **arguments):
            """Run one tool call the way the agent loop runs a model's; its answer."""
            return ag.dispatch(tool, json.dumps(arguments))[0]

        print("list_personas:", call("list_personas"))
        print(call("delegate_persona_task", persona="writer",
                   prompt='write_file path="README.txt" content="Run tests with: pytest -q"'))
        task = ag.tasks.tasks["task-1"]
        print("wait:", ag.tasks.wait(task.id, timeout=120))
        print(f"{task.id} was {task.persona.name}: {task.persona.description}")
        system_prompt = task.agent.request_messages()[0]["content"]
        print("its system prompt names it:", "You are writer" in system_prompt)
        print(call("collect_file", task_id=task.id, path="README.txt"))
        print("README.txt:", ag.runtime.read_file("README.txt"))
        print("an unknown persona:", call("delegate_persona_task", persona="poet", prompt="ls"))

        # max_tasks = 2: while two tasks run, a third is refused.
        for _ in range(2):
            call("delegate_persona_task", persona="tester", prompt="sleep 60")
        print("a third task:", call("delegate_task", prompt="echo hi"))
    # Leaving the with block ended the session, and with it the tasks still running.
    print("after the session:", {task_id: ag.tasks.status(task_id) for task_id in ag.tasks.tasks})
