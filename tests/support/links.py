"""A device link for tests of the hub: it keeps the frames it is given and reads them back."""

from __future__ import annotations

from tidings.gateway.frames import FrameReader


class Peer:
    """A link that keeps what it is given; frames are read back the way a client reads them."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    @property
    def frames(self) -> list[str]:
        reader = FrameReader(1 << 20)
        return [str(text) for _, text in reader.feed(b"".join(_masked(f) for f in self.sent))]


def _masked(frame: bytes) -> bytes:
    """A server frame as a client would send it (masked), so FrameReader can read it back."""
    size = frame[1]
    head = 2 + {126: 2, 127: 8}.get(size, 0)
    return frame[:1] + bytes((frame[1] | 0x80,)) + frame[2:head] + b"\0\0\0\0" + frame[head:]
