"""loopback_ports: a claimed port is never handed to another process while its claimant lives,
is handed out again once the claimant has exited, and lies outside the ephemeral range."""

import os
import socket
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import loopback_ports  # noqa: E402

# Prints the port a new process claims from the candidates given as its arguments.
CLAIM_IN_CHILD = (
    "import sys; sys.path.insert(0, %r); import loopback_ports as lp; "
    "print(lp.claim_port([int(a) for a in sys.argv[1:]]))" % HERE
)


def claim_in_child(candidates):
    out = subprocess.run([sys.executable, "-c", CLAIM_IN_CHILD] + [str(p) for p in candidates],
                         capture_output=True, text=True, timeout=30, check=True)
    return int(out.stdout)


def unclaimed_candidates(count):
    return [p for p in loopback_ports.candidate_ports() if p not in loopback_ports._claims][:count]


def release(port):
    os.close(loopback_ports._claims.pop(port))


class LoopbackPortsTest(unittest.TestCase):
    def test_free_ports_are_distinct_bindable_and_outside_the_ephemeral_range(self):
        low, high = loopback_ports.ephemeral_range()
        ports = [loopback_ports.free_port() for _ in range(20)]
        self.assertEqual(len(set(ports)), len(ports))
        for port in ports:
            self.assertFalse(low <= port <= high, port)
            self.assertTrue(loopback_ports.bindable(port), port)

    def test_a_port_claimed_here_is_not_handed_to_another_process(self):
        claimed = loopback_ports.free_port()
        other = unclaimed_candidates(1)[0]
        self.assertEqual(claim_in_child([claimed, other]), other)

    def test_a_port_is_handed_out_again_once_its_claimant_has_exited(self):
        candidates = unclaimed_candidates(5)
        port = claim_in_child(candidates)
        self.assertEqual(claim_in_child(candidates), port)
        here = loopback_ports.claim_port(candidates)
        self.assertEqual(here, port)
        release(here)
        self.assertEqual(claim_in_child(candidates), port)

    def test_a_port_something_listens_on_is_skipped(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            busy = listener.getsockname()[1]
            spare = unclaimed_candidates(1)[0]
            self.assertEqual(loopback_ports.claim_port([busy, spare]), spare)

    def test_no_candidate_left_is_an_error_naming_how_many_were_tried(self):
        claimed = loopback_ports.free_port()
        with self.assertRaisesRegex(RuntimeError, "among 1 candidates"):
            loopback_ports.claim_port([claimed])


if __name__ == "__main__":
    unittest.main()
