"""Drive the agent from Python: with no API key the offline ``direct`` model runs each line."""

from pygent import Agent

ag = Agent()
print(f"Commands run {'in Docker' if ag.runtime.use_docker else 'locally'}.")

for line in ['write_file path="hello.txt" content="Hello from Pygent"', "cat hello.txt", "ls"]:
    ag.step(line)
    print(f"> {line}\n{ag.conversation[-1].content}")

ag.runtime.cleanup()
