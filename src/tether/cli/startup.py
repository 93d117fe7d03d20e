"""The process's entry point and its heap: start-up creates ~70,000 objects that live
as long as the process (modules, classes, functions), and the cyclic garbage collector
would traverse them about a hundred times while they are imported (~35 ms of a
`tether do`'s start-up on a 2-core VM). The collector is paused from the first line
until a command has loaded what it uses; ``running.settle_heap`` then freezes what
exists (the collector never looks at it again, so later collections are cheaper too)
and resumes collecting what the command allocates."""

from __future__ import annotations

import gc


def main() -> None:
    """The ``tether`` console script (and ``python -m tether``): a warm process runs
    the command when one serves this environment (``warm.py``), else it runs here."""
    import os
    import sys

    from tether.cli.warm import hand_over

    try:
        code = hand_over(sys.argv)
    except KeyboardInterrupt:  # Ctrl-C while it was being handed over: stopped, as cold
        code = 130
    if code is not None:
        os._exit(code)
    gc.disable()
    from tether.cli.app import main as run

    run()
