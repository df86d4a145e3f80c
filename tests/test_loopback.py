"""loopback: the socket a server is given listens before the server runs."""

from __future__ import annotations

import socket

from pipfleet.loopback import bind


def test_a_client_that_connects_before_the_server_runs_is_not_refused() -> None:
    """Commands print their URL once the port is bound, before uvicorn starts: a client
    quick enough to connect in between must wait for the server, not be refused."""
    sock = bind("127.0.0.1", 0)
    try:
        with socket.create_connection(sock.getsockname()[:2], timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            accepted, _ = sock.accept()  # what the server takes up once it runs
            with accepted:
                assert accepted.recv(5) == b"GET /"
    finally:
        sock.close()
