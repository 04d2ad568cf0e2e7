"""Loopback ports: every server we start listens on 127.0.0.1 only (neither Rasa nor the action
server has authentication), on a port we are given or a free one."""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
