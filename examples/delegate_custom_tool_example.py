"""Sub-agents get your tools too: delegate a task whose prompt calls a tool you registered.

Every line goes through the offline direct model, as ``name key="value"`` tool calls.
"""

import pygent
from pygent import Agent


@pygent.tool
def word_count(runtime, path: str, out: str) -> str:
    """Count the words in a workspace file and write the count to another file."""
    count = len(runtime.read_file(path).split())
    runtime.write_file(out, f"{count} words in {path}\n")
    return f"{count} words in {path}, written to {out}"


with Agent() as ag:
    ag.step('write_file path="poem.txt" content="so much depends upon a red wheel barrow"')
    # files= copies poem.txt into the task's workspace; its prompt is one word_count call.
    ag.step("delegate_task prompt='word_count path=poem.txt out=count.txt' files=poem.txt")
    print(ag.conversation[-1].content)
    print("wait:", ag.tasks.wait("task-1", timeout=120))
    sub_agent = ag.tasks.tasks["task-1"].agent
    calls = [call.function.name for m in sub_agent.conversation for call in m.tool_calls or []]
    print("the sub-agent called:", calls)
    ag.step('task_status task_id="task-1"')
    print("task_status:", ag.conversation[-1].content)
    ag.step('collect_file task_id="task-1" path="count.txt"')
    print(ag.conversation[-1].content)
    print("count.txt:", ag.runtime.read_file("count.txt").strip())

pygent.remove_tool("word_count")
print("tools now:", pygent.tools())
