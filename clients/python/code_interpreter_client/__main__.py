"""``python3 -m code_interpreter_client``: the command-line client (see :mod:`.cli`)."""

import sys

from .cli import main

sys.exit(main())
