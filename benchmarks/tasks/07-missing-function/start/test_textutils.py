from textutils import shout, slugify

assert shout("hi") == "HI!"
assert slugify("Hello World") == "hello-world"
assert slugify("  Python   3.12 Release Notes ") == "python-312-release-notes"
assert slugify("What's new?") == "whats-new"
print("all tests passed")
