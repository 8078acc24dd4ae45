"""Register your own tool; the offline direct model calls it as `name key="value"`."""

import pygent
from pygent import Agent


@pygent.tool
def word_count(runtime, path: str) -> str:
    """Count the words in a workspace file."""
    return f"{len(runtime.read_file(path).split())} words in {path}"


print("tools now:", pygent.tools())
ag = Agent()
ag.step('write_file path="poem.txt" content="so much depends upon a red wheel barrow"')
ag.step('word_count path="poem.txt"')
print(ag.conversation[-1].content)
print("the system prompt lists it:", "word_count" in ag.request_messages()[0]["content"])
pygent.remove_tool("word_count")
ag.runtime.cleanup()
