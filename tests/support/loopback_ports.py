"""Free TCP ports on 127.0.0.1 for the servers a test starts, safe while tests run in parallel.

Binding port 0 and closing the socket hands out a port that is free only for the moment: until
the server started on it binds it, another test process may be handed the same one, or a client
socket of any test may be given it by connect(). So a port here is
  * taken from below the kernel's ephemeral range, where connect() never picks one, and
  * claimed with a lock on a file named after it, held by this process until it exits (the
    kernel drops the lock then, however the process ends), so no other test process takes it.
"""

import fcntl
import functools
import os
import random
import socket
import tempfile

# One per user: lock files another user created could not be opened.
LOCK_DIR = os.path.join(tempfile.gettempdir(), "dsiem-test-ports-%d" % os.getuid())
# Lowest port handed out: well clear of the well-known and registered services a machine runs.
LOWEST = 20000
# Open lock files of the ports this process claimed; closing one would release its claim.
_claims = {}


def ephemeral_range(path="/proc/sys/net/ipv4/ip_local_port_range"):
    try:
        with open(path) as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


@functools.cache
def candidate_ports():
    """Ports outside the ephemeral range (the wider side of it), in an order drawn once per
    process: shuffling some 12,000 ports costs more than claiming one."""
    low, high = ephemeral_range()
    below = range(LOWEST, low)
    above = range(high + 1, 65536)
    ports = list(below if len(below) >= len(above) else above)
    random.shuffle(ports)
    return tuple(ports)


def bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def claim_port(candidates):
    """The first of `candidates` that no test process has claimed and nothing listens on,
    claimed for the rest of this process's life."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    for port in candidates:
        if port in _claims:
            continue
        fd = os.open(os.path.join(LOCK_DIR, "%d.lock" % port), os.O_CREAT | os.O_RDONLY, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if bindable(port):
            _claims[port] = fd
            return port
        os.close(fd)
    raise RuntimeError("no free loopback port among %d candidates" % len(candidates))


def free_port():
    """A port on 127.0.0.1 that nothing listens on and no other test process will be given."""
    return claim_port(candidate_ports())
