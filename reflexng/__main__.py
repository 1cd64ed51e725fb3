"""``python -m reflexng`` is the same as the ``reflexng`` command."""

import sys

if __name__ == "__main__":
    try:
        from reflexng.cli import main
    except KeyboardInterrupt:  # Ctrl-C while starting: one line, no traceback
        print("reflexng: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
