"""`python -m eval.styleid`: StyleID's protocol (eval/styleid/command.py)."""

import sys

from eval.styleid.command import main

if __name__ == "__main__":
    sys.exit(main())
