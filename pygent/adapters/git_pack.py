"""Git pack files, written and read in Python: one file per snapshot, not one per object.

Creating a file can cost half a millisecond on a busy or virtual disk, so the 10,000 blobs
of a first snapshot go into one ``.pack`` (with the ``.idx`` git needs to read it) instead
of 10,000 loose objects. Only whole objects are written (no deltas), zlib level 1.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import zlib
from pathlib import Path

KINDS = {"commit": 1, "tree": 2, "blob": 3}
NAMES = {number: name for name, number in KINDS.items()}
_CHUNK = 1 << 16


def entry_header(kind: int, size: int) -> bytes:
    """A pack entry's type and size: 4 bits of size in the first byte, 7 in each next."""
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


class PackWriter:
    """Objects appended to a temporary pack in ``folder``; ``finish`` names it and indexes it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        fd, temporary = tempfile.mkstemp(dir=folder, prefix="tmp-pack-")
        self.path = Path(temporary)  # where the entries are readable until ``finish``
        self._file = os.fdopen(fd, "w+b")
        self._file.write(b"PACK" + struct.pack(">II", 2, 0))  # the count comes at the end
        self.entries: dict[bytes, tuple[int, int]] = {}  # binary id -> (offset, crc32)

    def add(self, binary_id: bytes, kind: str, data: bytes) -> int:
        """Append one object; its offset in the pack."""
        self._file.seek(0, os.SEEK_END)
        offset = self._file.tell()
        packed = entry_header(KINDS[kind], len(data)) + zlib.compress(data, 1)
        try:
            self._file.write(packed)
        except BaseException:  # no half entry may stay between two whole ones
            self._file.flush()
            self._file.truncate(offset)
            raise
        self.entries[binary_id] = (offset, zlib.crc32(packed))
        return offset

    def sync(self) -> None:
        """Hand what was added to the file, so another handle can read it."""
        self._file.flush()

    def finish(self) -> Path:
        """Write the count, the checksum and the index; the pack's final path."""
        self._file.seek(8)
        self._file.write(struct.pack(">I", len(self.entries)))
        self._file.seek(0)
        digest = hashlib.sha1()  # noqa: S324 (git's pack checksum)
        for chunk in iter(lambda: self._file.read(_CHUNK), b""):
            digest.update(chunk)
        checksum = digest.digest()
        self._file.write(checksum)
        self._file.close()
        name = f"pack-{checksum.hex()}"
        pack = self.folder / f"{name}.pack"
        os.replace(self.path, pack)
        index = self.folder / f"{name}.idx"
        temporary = index.with_suffix(".tmp")
        temporary.write_bytes(self._index(checksum))
        os.replace(temporary, index)
        return pack

    def abandon(self) -> None:
        """Drop the temporary pack."""
        self._file.close()
        self.path.unlink(missing_ok=True)

    def _index(self, checksum: bytes) -> bytes:
        """A version 2 ``.idx``: fan-out, sorted ids, CRCs, offsets, both checksums."""
        ids = sorted(self.entries)
        fanout = [0] * 256
        for binary_id in ids:
            fanout[binary_id[0]] += 1
        total = 0
        for index in range(256):
            total += fanout[index]
            fanout[index] = total
        small: list[int] = []
        large: list[int] = []
        for binary_id in ids:
            offset = self.entries[binary_id][0]
            if offset < 0x80000000:
                small.append(offset)
            else:
                small.append(0x80000000 | len(large))
                large.append(offset)
        body = b"".join([
            b"\xfftOc", struct.pack(">I", 2), struct.pack(">256I", *fanout), *ids,
            struct.pack(f">{len(ids)}I", *(self.entries[i][1] for i in ids)),
            struct.pack(f">{len(ids)}I", *small), struct.pack(f">{len(large)}Q", *large),
            checksum])
        return body + hashlib.sha1(body).digest()  # noqa: S324


def read_entry(pack: Path, offset: int) -> tuple[str, bytes]:
    """The kind and bytes of the whole (not delta) object at ``offset`` in ``pack``."""
    with pack.open("rb") as handle:
        handle.seek(offset)
        byte = handle.read(1)[0]
        kind, size, shift = (byte >> 4) & 7, byte & 0x0F, 4
        while byte & 0x80:
            byte = handle.read(1)[0]
            size |= (byte & 0x7F) << shift
            shift += 7
        if kind not in NAMES:
            raise ValueError(f"unexpected pack entry of type {kind} in {pack.name}")
        inflate = zlib.decompressobj()
        parts: list[bytes] = []
        while not inflate.eof:
            chunk = handle.read(_CHUNK)
            if not chunk:
                raise ValueError(f"{pack.name} is cut short")
            parts.append(inflate.decompress(chunk))
        data = b"".join(parts)
    if len(data) != size:
        raise ValueError(f"an object in {pack.name} is damaged")
    return NAMES[kind], data
