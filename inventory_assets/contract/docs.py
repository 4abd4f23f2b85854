"""The column tables of ``docs/data-contract.md``, ``docs/frames.md`` and ``docs/backtest.md``, generated
from the contract.

Each table sits between ``<!-- contract:NAME -->`` and ``<!-- /contract:NAME -->`` in its page;
:func:`render` replaces every such block with the table generated from ``spec``, and a test fails when a
page differs from its rendering. ``python -m inventory_assets.contract.docs`` rewrites the pages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from inventory_assets.contract import spec
from inventory_assets.contract.classes import Table

__all__ = ["BLOCKS", "DOC_PAGES", "render", "main"]

BLOCKS: dict[str, Table] = {
    **{f"source:{name}": table for name, table in spec.SOURCE_TABLES.items()},
    **{f"frame:{name}": table for name, table in spec.FRAMES.items()},
    "plan:procurement_plan": spec.PROCUREMENT_PLAN_ROWS,
    "plan:procurement_plan_runs": spec.PROCUREMENT_PLAN_RUNS,
    **{f"backtest:{name}": table for name, table in spec.BACKTEST_TABLES.items()},
    "plan:budget_frontier": spec.BUDGET_FRONTIER,
}
"""Every generated table, by block name."""

DOC_PAGES: tuple[str, ...] = ("docs/data-contract.md", "docs/frames.md", "docs/plan-store.md", "docs/backtest.md")
"""The pages holding generated blocks, relative to the project root."""

_BLOCK = re.compile(r"(<!-- contract:(?P<name>[\w:]+) -->\n).*?(<!-- /contract:(?P=name) -->)", re.DOTALL)


def render(text: str) -> str:
    """``text`` with every contract block replaced by its generated table (an unknown name is an error)."""

    def table(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in BLOCKS:
            raise KeyError(f"unknown contract block {name!r}; known: {sorted(BLOCKS)}")
        return f"{match.group(1)}{BLOCKS[name].markdown()}\n{match.group(3)}"

    return _BLOCK.sub(table, text)


def main(root: Path | None = None) -> int:
    """Rewrite the pages' blocks from the contract; print the pages that changed."""
    base = root or Path(__file__).resolve().parents[2]
    for page in DOC_PAGES:
        path = base / page
        old = path.read_text(encoding="utf-8")
        new = render(old)
        if new != old:
            path.write_text(new, encoding="utf-8")
            print(f"updated {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
