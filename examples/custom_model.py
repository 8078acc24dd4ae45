"""The smallest custom model: it echoes the last message back."""

from pygent import Agent, openai_compat


class EchoModel:
    def chat(self, messages, model, tools):
        last = messages[-1]["content"]
        return openai_compat.Message(role="assistant", content=f"Echo: {last}")


ag = Agent(model=EchoModel())
reply = ag.step("test")
print(reply.content)
ag.runtime.cleanup()
