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
with the first data read, so each name's last `SSLObject` is kept and its session read
when the name is next dialled.
"""

import ssl
from typing import Final

MAX_NAMES: Final = 256  # far above a catalog's names; bounds what a misbehaving one costs


class ResumingContext(ssl.SSLContext):
    """A verifying client context that resumes each server name's last session."""

    def __init__(self, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> None:  # noqa: ARG002 - taken by ssl.SSLContext.__new__
        self._last: dict[str, ssl.SSLObject] = {}  # server name → its newest connection

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,  # noqa: FBT001, FBT002 - ssl.SSLContext's signature
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        name = server_hostname.decode() if isinstance(server_hostname, bytes) else server_hostname
        if session is None and name is not None and not server_side:
            session = self.session_for(name)
        tls = super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)
        if name is not None and not server_side:
            self._last.pop(name, None)
            self._last[name] = tls
            while len(self._last) > MAX_NAMES:
                del self._last[next(iter(self._last))]
        return tls

    def session_for(self, name: str) -> ssl.SSLSession | None:
        """The resumable session of `name`'s last connection, if it got one."""
        last = self._last.get(name)
        session = last.session if last is not None else None
        return session if session is not None and session.has_ticket else None
