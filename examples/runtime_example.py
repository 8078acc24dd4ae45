"""Use the sandbox directly, without a model: run commands and move files."""

from pygent import Runtime

with Runtime() as rt:
    print("sandbox:", "Docker" if rt.use_docker else "local")
    print(rt.write_file("script.py", "print(sum(range(10)))\n"))
    print("python says:", rt.bash("python3 script.py"))
    rt.bash("export GREETING=hi && mkdir -p sub && cd sub")
    print("state carries over:", rt.bash('echo "$GREETING from $(basename "$PWD")"'))
    print("a failing command:", rt.bash("ls missing-file"))
    print("read back:", rt.read_file("script.py").strip())
