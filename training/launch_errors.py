"""Report a one-line error from a training process so that the user reads it once, at the end.

Under `accelerate launch` / `torchrun` the launcher prints its own report after the processes exit:
a `ChildFailedError` traceback of the launcher itself, then a summary block with one entry per
failed process whose `traceback :` field reads the process's error file (`TORCHELASTIC_ERROR_FILE`,
one per process) or says "To enable traceback see ...". A line printed by the process scrolls away
above all that. So, under such a launcher, the error goes into the error file, in the plain form the
launcher shows as is (`{"message": str, "timestamp": int}`), and the summary's "Root Cause" ends
with our line.

Every rank meets a config or checkpoint error at once, and each failed process gets its own summary
entry (one it stops with SIGTERM too, as "Signal 15"). So only the first process of each machine
(LOCAL_RANK 0) exits at once; the others wait a few seconds, and when the launcher, having seen the
first one fail, stops them meanwhile, they exit quietly with status 0: the summary names one
failure, the real one. An error only another rank meets (a file missing on one machine) is still
reported, after the wait, by that rank.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

OTHER_RANKS_WAIT_S = 10.0  # >> the launcher's poll interval (0.1 s) + the ranks' start-up skew


def report_error(message: str) -> None:
    """Show `message` (one line) once: in the launcher's summary when there is one, else on stderr
    (rank 0)."""
    error_file = os.environ.get("TORCHELASTIC_ERROR_FILE")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if error_file:
        if local_rank != 0:
            signal.signal(signal.SIGTERM, _stopped_while_waiting)
            time.sleep(OTHER_RANKS_WAIT_S)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            with open(error_file, "w") as f:
                json.dump({"message": message, "timestamp": int(time.time())}, f)
            return
        except OSError:
            pass  # no error file: fall back to stderr, where at least the line is not lost
    if int(os.environ.get("RANK", 0)) == 0 or error_file:
        print(message, file=sys.stderr)


def _stopped_while_waiting(signum, frame) -> None:
    """The launcher stops this rank because another one failed first: that one's error is the one to
    read."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
