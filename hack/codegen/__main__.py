"""`python -m codegen`: see codegen.cli."""

import sys

from codegen import cli

sys.exit(cli.main())
