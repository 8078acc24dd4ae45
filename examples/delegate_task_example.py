"""Delegate a task: a sub-agent works in its own workspace, then you collect what it made.

Offline, the sub-agent runs the direct model too, so its prompt holds one action per line,
run in order: a ``write_file`` call, then shell commands.
"""

import json

from pygent import Agent

PROMPT = """\
write_file path="square.py" content="import sys; print(int(sys.argv[1]) ** 2)"
mkdir -p out
python3 square.py 12 > out/report.txt
echo "checked: $(cat out/report.txt)" >> out/report.txt"""

with Agent() as ag:  # leaving the block stops every task and removes its workspace
    print(f"Commands run {'in Docker' if ag.runtime.use_docker else 'locally'}.")

    def call(tool, **arguments):
        """Run one tool call the way the agent loop runs a model's; its answer."""
        return ag.dispatch(tool, json.dumps(arguments))[0]

    print(call("delegate_task", prompt=PROMPT))
    task_id = next(iter(ag.tasks.tasks))  # "task-1"
    print("wait:", ag.tasks.wait(task_id, timeout=120))
    sandbox = ag.tasks.tasks[task_id].agent.runtime
    print(f"{task_id} ran {'in Docker' if sandbox.use_docker else 'locally'}, in its own workspace")
    print("task_status:", call("task_status", task_id=task_id))
    print(call("collect_file", task_id=task_id, path="out/report.txt", dest="report.txt"))
    print("report.txt:", ag.runtime.read_file("report.txt").strip().replace("\n", " | "))
    print("your workspace:", ag.runtime.bash("ls"))
