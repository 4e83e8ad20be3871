"""TLS session resumption across rounds: a server's certificate chain once, not every round.

A full handshake receives the server's chain (2-4 kB for a platform), twelve times a round
at the default catalog: most of a probe's traffic. `ResumingContext` offers each server
name a session (TLS 1.3 ticket) of an earlier connection to that name, so the server
answers without its chain. Nothing is lost to detection: the name still goes out in the
SNI, a resumed handshake proves the server holds the key of a session whose chain was
verified, and a server that cannot resume it (a middlebox in the path, a rotated ticket
key) makes OpenSSL fall back to a full, verified handshake.

asyncio's `start_tls` takes no session, but it opens each connection with the context's
`wrap_bio`, which is where the session is offered. Tickets arrive after the handshake,
with the first data read, so a name's newest connection is looked at when the name is
next dialled.

A session is read from a connection only after a full handshake, and then offered until
the server refuses it. Reading `SSLObject.session` copies the session and, on CPython
before 3.12.7 (gh-116810, Debian 12's 3.11 among them), never frees the copy: ~6 kB, a
certificate chain, per read. Reading it after every handshake grew the probe by ~70 kB a
round; reading it once per full handshake costs ~6 kB per name when its server rotates
its ticket key (daily or so). Offering one ticket several times lets an observer link
those connections (RFC 8446, C.4); the probe's address and schedule already do.
"""

import ssl
from dataclasses import dataclass
from typing import Final

MAX_NAMES: Final = 256  # far above a catalog's names; bounds what a misbehaving one costs
# A full handshake that brought no ticket (a server without them, a connection closed
# before its ticket came) makes the next 1, 2, 4 ... full handshakes to that name go
# unread, up to this many: each read is a leaked copy on the CPythons above.
MAX_UNREAD: Final = 256


@dataclass(slots=True)
class _NameState:
    session: ssl.SSLSession | None = None  # offered to each connection while servers take it
    newest: ssl.SSLObject | None = None  # the newest connection, not yet looked at
    unread: int = 0  # full handshakes still to go unread
    backoff: int = 1  # how many go unread after the next one without a ticket

    def settle(self) -> None:
        """Look at the newest connection: keep the session its full handshake brought."""
        tls, self.newest = self.newest, None
        if tls is None or tls.version() is None or tls.session_reused:
            return  # no connection, a handshake that failed, or the session was taken
        if self.unread:
            self.unread -= 1
            return
        session = tls.session
        if session is not None and session.has_ticket:
            self.session, self.backoff = session, 1
        else:
            self.unread, self.backoff = self.backoff, min(2 * self.backoff, MAX_UNREAD)


class ResumingContext(ssl.SSLContext):
    """A verifying client context that resumes each server name's sessions."""

    def __init__(self, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> None:  # noqa: ARG002 - taken by ssl.SSLContext.__new__
        self._names: dict[str, _NameState] = {}  # least recently dialled first

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,  # noqa: FBT001, FBT002 - ssl.SSLContext's signature
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        name = server_hostname.decode() if isinstance(server_hostname, bytes) else server_hostname
        if name is None or server_side:
            return super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)
        state = self._dialled(name)
        state.settle()
        tls = super().wrap_bio(
            incoming, outgoing, server_side, server_hostname, session or state.session
        )
        state.newest = tls
        return tls

    def _dialled(self, name: str) -> _NameState:
        state = self._names.pop(name, None) or _NameState()
        self._names[name] = state
        while len(self._names) > MAX_NAMES:
            del self._names[next(iter(self._names))]
        return state
