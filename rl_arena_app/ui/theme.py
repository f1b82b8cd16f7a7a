"""The dashboard's look: one Radix theme, spacing and widths in one place."""

from __future__ import annotations

import reflex as rx

THEME = rx.theme(accent_color="blue", gray_color="slate", radius="medium", scaling="100%",
                 has_background=True)
PAGE_MAX_WIDTH = "1200px"
STYLE = {
    "font_family": "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
    # Tables scroll sideways on a phone instead of squeezing their columns.
    ".rt-TableRoot": {"max_width": "100%"},
}
# Numbers line up in columns.
NUMERIC = {"font_variant_numeric": "tabular-nums", "text_align": "right",
           "white_space": "nowrap"}
