"""``edge-bench``: not built yet (issue #5)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print(
        "edge-bench: error: not built yet: the benchmark report arrives with issue #5",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
