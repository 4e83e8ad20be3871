"""TLS session resumption across rounds: a server's certificate chain once, not every round.

A full handshake receives the server's chain (2-4 kB for a platform), twelve times a round
at the default catalog: most of a probe's traffic. `ResumingContext` offers each server
name the session (TLS 1.3 ticket) of its last connection to that name, so the server
answers without its chain. Nothing is lost to detection: the name still goes out in the
SNI, a resumed handshake proves the server holds the key of a session whose chain was
verified, and a server that cannot resume it (a middlebox in the path, a rotated ticket
key) makes OpenSSL fall back to a full, verified handshake.

asyncio's `start_tls` takes no session, but it opens each connection with the context's
`wrap_bio`, which is where the session is offered. Tickets arrive after the handshake,
with the first data read, so a connection's `SSLObject` is held until its ticket has come
(looked at whenever a connection opens) and then only its session is kept.
"""

import ssl
from typing import Final, TypeVar

MAX_NAMES: Final = 256  # far above a catalog's names; bounds what a misbehaving one costs

T = TypeVar("T")


class ResumingContext(ssl.SSLContext):
    """A verifying client context that resumes each server name's last session."""

    def __init__(self, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> None:  # noqa: ARG002 - taken by ssl.SSLContext.__new__
        self._sessions: dict[str, ssl.SSLSession] = {}  # server name → newest with a ticket
        self._awaiting: dict[str, ssl.SSLObject] = {}  # name → its newest, no ticket yet

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,  # noqa: FBT001, FBT002 - ssl.SSLContext's signature
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        name = server_hostname.decode() if isinstance(server_hostname, bytes) else server_hostname
        client = name is not None and not server_side
        if session is None and name is not None and client:
            session = self.session_for(name)
        tls = super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)
        if name is not None and client:
            _newest(self._awaiting, name, tls)
        return tls

    def session_for(self, name: str) -> ssl.SSLSession | None:
        """The newest resumable session of `name`, if one of its connections got a ticket."""
        for awaited, tls in list(self._awaiting.items()):
            session = tls.session
            if session is not None and session.has_ticket:
                _newest(self._sessions, awaited, session)
                del self._awaiting[awaited]
        return self._sessions.get(name)


def _newest(table: dict[str, T], name: str, value: T) -> None:
    """Keep `value` as `name`'s, the least recently set names dropped past `MAX_NAMES`."""
    table.pop(name, None)
    table[name] = value
    while len(table) > MAX_NAMES:
        del table[next(iter(table))]
