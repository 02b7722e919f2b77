"""Entry point (placeholder until its issue lands)."""

import sys


def main() -> None:
    print("kserve_controller: not built yet", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
