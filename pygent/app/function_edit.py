"""One function of a Python file, written alone and put in its place.

Asked to write a whole file fixed, Qwen2.5-Coder-1.5B copied the file it had just been shown,
bug and all, five times over; asked for the one function alone, it wrote the fix at once. So
when a failed check names a function (the call in a failed ``assert``, a name a test could
not import), an unattended run shows that function and asks for it alone, and this module
splices what comes back into the file: the other definitions and lines stay as they were.
"""

from __future__ import annotations

import ast
from typing import Optional, Union

_Definition = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)


def python_tree(text: str, mode: str = "exec") -> Optional[ast.AST]:
    """``ast.parse`` for text a model or a command wrote, None where it cannot be parsed:
    deep nesting (``x.a.a.a...``, ``-----1``) makes the parser raise RecursionError or
    MemoryError, which would otherwise end the run."""
    try:
        return ast.parse(text, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL byte
        return None


def _tree(text: str) -> Optional[ast.Module]:
    tree = python_tree(text)
    return tree if isinstance(tree, ast.Module) else None


def parses(text: str) -> bool:
    """Whether ``text`` is Python that parses, so functions can be put into it."""
    return _tree(text) is not None


def definitions_only(code: str) -> list[str]:
    """The names ``code`` defines when it is nothing but top-level functions and classes
    (imports allowed beside them), else []: a block that does more is a whole file."""
    tree = _tree(code)
    if tree is None or not all(isinstance(node, (*_DEFINITIONS, *_IMPORTS))
                               for node in tree.body):
        return []
    return [node.name for node in tree.body if isinstance(node, _DEFINITIONS)]


def _lines(node: _Definition) -> tuple[int, int]:
    """A definition's first line (its first decorator's) and last line, from 0, end excluded."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first - 1, node.end_lineno or node.lineno


def definition_text(source: str, name: str) -> Optional[str]:
    """The text of the top-level function or class ``name`` in ``source`` (None: not there)."""
    tree = _tree(source)
    found = [node for node in (tree.body if tree else ()) if isinstance(node, _DEFINITIONS)
             and node.name == name]
    if not found:
        return None
    start, end = _lines(found[-1])
    return "".join(source.splitlines(keepends=True)[start:end]).rstrip("\n")


def _piece(lines: list[str], start: int, end: int) -> list[str]:
    """Lines ``start`` to ``end`` of a text, the last one ending in a newline."""
    piece = lines[start:end]
    piece[-1] = piece[-1].rstrip("\n") + "\n"
    return piece


def splice(source: str, code: str) -> Optional[str]:
    """``source`` with each top-level definition of ``code`` in place of its namesake, new ones
    added at the end and new imports before the first definition (None when either text does
    not parse, or ``code`` is more than definitions)."""
    tree, new = _tree(source), _tree(code)
    if tree is None or new is None or not definitions_only(code):
        return None
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    pieces = code.splitlines(keepends=True)
    replaced: dict[int, tuple[int, list[str]]] = {}  # first line -> (end, new lines)
    added: list[str] = []
    imports: list[str] = []
    have = {ast.unparse(node) for node in tree.body if isinstance(node, _IMPORTS)}
    for node in new.body:
        if isinstance(node, _IMPORTS):
            if ast.unparse(node) not in have:
                imports.extend(_piece(pieces, node.lineno - 1, node.end_lineno or node.lineno))
            continue
        assert isinstance(node, _DEFINITIONS)  # definitions_only said so
        text = _piece(pieces, *_lines(node))
        old = [n for n in tree.body if isinstance(n, _DEFINITIONS) and n.name == node.name]
        if old:
            replaced[_lines(old[-1])[0]] = (_lines(old[-1])[1], text)
        else:
            added.extend(["\n", "\n", *text])
    out: list[str] = []
    index = 0
    first_definition = min((_lines(n)[0] for n in tree.body if isinstance(n, _DEFINITIONS)),
                           default=len(lines))
    while index < len(lines):
        if index == first_definition and imports:
            out.extend([*imports, "\n", "\n"])
            imports = []
        if index in replaced:
            end, text = replaced[index]
            out.extend(text)
            index = end
            continue
        out.append(lines[index])
        index += 1
    if imports:
        out[:0] = imports
    return "".join(out).rstrip("\n") + "\n" + "".join(added).rstrip("\n") + ("\n" if added else "")


def called_function(test_text: str, call: str) -> Optional[tuple[str, str]]:
    """(module, function) of the call a test asserts on, by the test's own imports:
    ``page_count(11, 10)`` after ``from pages import page_count`` is ``("pages",
    "page_count")``, and ``pages.page_count(11, 10)`` after ``import pages`` is too."""
    tree, expression = _tree(test_text), _tree(call)
    if tree is None or expression is None or len(expression.body) != 1:
        return None
    value = getattr(expression.body[0], "value", None)
    func = value.func if isinstance(value, ast.Call) else None
    for node in tree.body:
        for alias in getattr(node, "names", ()):
            bound = alias.asname or alias.name
            if isinstance(node, ast.ImportFrom) and isinstance(func, ast.Name) \
                    and not node.level and node.module and bound == func.id:
                return node.module, alias.name
            if isinstance(node, ast.Import) and isinstance(func, ast.Attribute) \
                    and isinstance(func.value, ast.Name) and bound == func.value.id:
                return alias.name, func.attr
    return None


def module_file(module: str) -> str:
    """The file a plain module name is found in, beside the code that imports it."""
    return module.replace(".", "/") + ".py"


def ask_for(path: str, name: str, current: Optional[str]) -> str:
    """The request for one function alone: shown as it is, or as a stub when it is new. The
    code or the request comes last, as the last thing a small model reads is what it does:
    with the request before the files, the 1.5B model ran cat and wrote whole files."""
    if current is None:
        return (f"Write only the new {name}: a python block with just this function, its "
                f"body written. It is added to {path}, and the rest of {path} stays as it is:"
                f"\n```python\ndef {name}(...):\n    ...\n```")
    return (f"{name} is in {path}:\n```python\n{current}\n```\nWrite only {name}, fixed: a "
            f"python block with just its def and body. It replaces {name} in {path}, and the "
            f"rest of {path} stays as it is.")
