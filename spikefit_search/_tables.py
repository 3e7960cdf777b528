"""Terminal tables that never cut a name or a number, at any width and in a pipe.

Rich shrinks a table that is too wide by truncating cells (``xylo-…``) or folding them mid-word
(``93/6`` ``4``). Here every column is sized so that this cannot happen: a column of names and
numbers is never narrower than its longest cell, a column of free text never narrower than its
longest word. When the terminal is narrower than that, :class:`FirstFit` shows the next, more
compact, layout of the same data (fewer columns, or transposed) instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Justify = Literal["left", "right", "center"]


@dataclass(frozen=True)
class Col:
    """A column: ``wrap`` for free text that may break between words; otherwise never broken."""

    header: str
    justify: Justify = "left"
    wrap: bool = False


def _plain(cell: Any) -> str:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return str(cell)


def _min_width(header: str, cells: Iterable[Any], wrap: bool) -> int:
    width = 1
    for cell in (header, *cells):
        for line in _plain(cell).split("\n"):
            parts = line.split() if wrap else [line]
            width = max(width, *(cell_len(p) for p in parts), 1)
    return width


def plain_table(
    columns: Sequence[Col],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    caption: str | None = None,
    row_styles: Sequence[str | None] = (),
) -> Table:
    """A borderless table (a header rule, one space between columns) whose cells are never cut.

    Rows of a pipe are whole lines, so ``grep NAME`` finds a row.
    """
    rows = [list(r) for r in rows]
    table = Table(
        title=title,
        caption=caption,
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
        collapse_padding=True,
    )
    for i, col in enumerate(columns):
        table.add_column(
            col.header,
            justify=col.justify,
            no_wrap=not col.wrap,
            overflow="fold" if col.wrap else "ellipsis",
            min_width=_min_width(col.header, (r[i] for r in rows), col.wrap),
        )
    for i, row in enumerate(rows):
        table.add_row(*row, style=row_styles[i] if i < len(row_styles) else None)
    return table


def min_table_width(table: Table) -> int:
    """The narrowest width at which no cell of ``table`` is cut."""
    widths = [c.min_width or 1 for c in table.columns]
    padding = sum(table._get_padding_width(i) for i in range(len(widths)))
    return sum(widths) + padding + table._extra_width


class FirstFit:
    """The first of several layouts of the same data that fits the width it is given (the
    last one otherwise)."""

    def __init__(self, *layouts: Table) -> None:
        self.layouts = layouts

    def choose(self, width: int) -> Table:
        for layout in self.layouts:
            if min_table_width(layout) <= width:
                return layout
        return self.layouts[-1]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.choose(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.choose(options.max_width))


def render_text(renderable: RenderableType, width: int) -> str:
    """What ``renderable`` prints at ``width`` columns, without colours (for tests and docs)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()
