"""``python -m reflexng`` is the same as the ``reflexng`` command."""

import sys

from reflexng.cli import main

if __name__ == "__main__":
    sys.exit(main())
