"""`python -m attune_sync.cli`: the same as the `attune-sync` command."""

import sys

from .app import main

sys.exit(main())
