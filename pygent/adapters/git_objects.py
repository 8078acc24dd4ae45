"""Blobs and trees in a git object folder, written and read by Python, never by a work tree.

Checkpoints keep the workspace in git's format, so the ``git`` binary can diff two
snapshots, yet no git command ever looks at the workspace: the bytes come from handles Pygent
opened itself, and what the sandbox wrote there (a ``.gitattributes``, a nested ``.git``, a
FIFO) can neither run a filter nor send git reading outside it. The objects of one snapshot
go into one pack (see :mod:`.git_pack`); where each is, is kept in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Optional

from .git_pack import PackWriter, read_entry

TREE, FILE, EXECUTABLE, LINK, OPAQUE = "40000", "100644", "100755", "120000", "160000"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git knows it without storing it

#: (mode, hex id) of one tree entry; OPAQUE marks a file kept by size and time only.
Entry = tuple[str, str]


class GitObjects:
    """The ``objects`` folder of a git directory this process alone writes, by id.

    New objects go to one open pack, readable by this class at once; ``finish`` closes it
    and indexes it, which git needs before it reads them (a diff), and nothing else does.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "pack"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._where: dict[str, tuple[Path, int]] = {}  # id -> (finished pack, offset)
        self._pending: Optional[PackWriter] = None
        self._pending_ids: dict[str, int] = {}  # id -> offset in the open pack
        self._trees: dict[str, dict[str, Entry]] = {}

    def write(self, kind: str, data: bytes) -> str:
        """Store one object (unless it is there already); its hex id."""
        digest = hashlib.sha1(f"{kind} {len(data)}\0".encode())  # noqa: S324 (git's ids)
        digest.update(data)
        hexsha = digest.hexdigest()
        if hexsha in self._where or hexsha in self._pending_ids or hexsha == EMPTY_TREE:
            return hexsha
        if self._pending is None:
            self._pending = PackWriter(self.folder)
        self._pending_ids[hexsha] = self._pending.add(digest.digest(), kind, data)
        return hexsha

    def finish(self) -> None:
        """Close and index the open pack, so that git can read every object."""
        writer, self._pending = self._pending, None
        if writer is None:
            return
        try:
            pack = writer.finish()
        except BaseException:
            writer.abandon()
            self._pending_ids.clear()
            raise
        for hexsha, offset in self._pending_ids.items():
            self._where[hexsha] = (pack, offset)
        self._pending_ids.clear()

    def read(self, hexsha: str) -> tuple[str, bytes]:
        """An object's kind and content."""
        offset = self._pending_ids.get(hexsha)
        if offset is not None and self._pending is not None:
            self._pending.sync()
            return read_entry(self._pending.path, offset)
        where = self._where.get(hexsha)
        if where is None:
            raise ValueError(f"no object {hexsha} in the checkpoint store")
        return read_entry(*where)

    def close(self) -> None:
        """Drop the open pack (the store is going away)."""
        writer, self._pending = self._pending, None
        if writer is not None:
            writer.abandon()

    def tree(self, hexsha: str) -> dict[str, Entry]:
        """The entries of a tree by name (cached: an id names one content forever)."""
        cached = self._trees.get(hexsha)
        if cached is not None:
            return cached
        entries: dict[str, Entry] = {}
        if hexsha != EMPTY_TREE:
            kind, data = self.read(hexsha)
            if kind != "tree":
                raise ValueError(f"object {hexsha} is a {kind}, not a tree")
            offset = 0
            while offset < len(data):
                space = data.index(b" ", offset)
                nul = data.index(b"\0", space)
                mode = data[offset:space].decode()
                entries[os.fsdecode(data[space + 1:nul])] = (mode, data[nul + 1:nul + 21].hex())
                offset = nul + 21
        self._remember(hexsha, entries)
        return entries

    def _remember(self, hexsha: str, entries: dict[str, Entry]) -> None:
        if len(self._trees) > 8192:
            self._trees.clear()
        self._trees[hexsha] = entries

    def write_tree(self, entries: Mapping[str, Entry]) -> str:
        """Store a tree of ``name -> (mode, id)`` in git's order; its id."""
        if not entries:
            return EMPTY_TREE

        def order(name: str) -> bytes:
            return os.fsencode(name) + (b"/" if entries[name][0] == TREE else b"")

        data = b"".join(
            f"{entries[name][0]} ".encode() + os.fsencode(name) + b"\0"
            + bytes.fromhex(entries[name][1])
            for name in sorted(entries, key=order))
        hexsha = self.write("tree", data)
        self._remember(hexsha, dict(entries))  # a diff with the last snapshot reads it next
        return hexsha

    def lookup(self, tree: str, path: str) -> Optional[Entry]:
        """The entry ``path`` names in ``tree``, or None."""
        entry: Entry = (TREE, tree)
        for word in path.split("/"):
            if entry[0] != TREE:
                return None
            found = self.tree(entry[1]).get(word)
            if found is None:
                return None
            entry = found
        return entry

    def files(self, tree: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        """Every non-tree entry below ``tree`` as (path, entry)."""
        for name, entry in self.tree(tree).items():
            path = prefix + name
            if entry[0] == TREE:
                yield from self.files(entry[1], path + "/")
            else:
                yield path, entry

    def changed(self, a: str, b: str, prefix: str = "") -> Iterator[str]:
        """The paths of files that differ between trees ``a`` and ``b`` (equal subtrees skipped)."""
        if a == b:
            return
        left, right = self.tree(a), self.tree(b)
        for name in sorted(set(left) | set(right)):
            old, new = left.get(name), right.get(name)
            if old == new:
                continue
            path = prefix + name
            old_tree = old[1] if old is not None and old[0] == TREE else EMPTY_TREE
            new_tree = new[1] if new is not None and new[0] == TREE else EMPTY_TREE
            if (old is not None and old[0] != TREE) or (new is not None and new[0] != TREE):
                yield path
            yield from self.changed(old_tree, new_tree, path + "/")

    def subset(self, tree: str, paths: set[str]) -> str:
        """A tree holding only the files of ``tree`` whose paths are in ``paths``."""
        folders = {path.rsplit("/", depth)[0] for path in paths
                   for depth in range(1, path.count("/") + 1)}
        return self.write_paths(dict(self._pick(tree, paths, folders, "")))

    def _pick(self, tree: str, paths: set[str], folders: set[str],
              prefix: str) -> Iterator[tuple[str, Entry]]:
        for name, entry in self.tree(tree).items():
            path = prefix + name
            if entry[0] == TREE:
                if path in folders:
                    yield from self._pick(entry[1], paths, folders, path + "/")
            elif path in paths:
                yield path, entry

    def write_paths(self, flat: Mapping[str, Entry]) -> str:
        """Store the tree of a ``path -> entry`` map (folders made as needed); its id."""
        nested: dict[str, object] = {}
        for path, entry in flat.items():
            *folders, name = path.split("/")
            here = nested
            for folder in folders:
                here = here.setdefault(folder, {})  # type: ignore[assignment]
            here[name] = entry
        return self._write_nested(nested)

    def _write_nested(self, nested: dict[str, object]) -> str:
        entries: dict[str, Entry] = {}
        for name, value in nested.items():
            if isinstance(value, dict):
                tree = self._write_nested(value)
                if tree != EMPTY_TREE:
                    entries[name] = (TREE, tree)
            else:
                entries[name] = value  # type: ignore[assignment]
        return self.write_tree(entries)
