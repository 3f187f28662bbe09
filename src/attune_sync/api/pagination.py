"""`page` with `per_page` or `page_size`: the two seeds name the size differently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import validation_failed

DEFAULT_SIZE = 50
MAX_SIZE = 100

Style = Literal["packs", "components"]
"""`packs`: the pack seed's {page, per_page, total, total_pages}; `components`: the trigger
and sensor seed's {page, page_size, total_items, total_pages}."""


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def body(self, total: int, style: Style) -> dict[str, Any]:
        pages = (total + self.size - 1) // self.size
        if style == "packs":
            return {
                "page": self.number,
                "per_page": self.size,
                "total": total,
                "total_pages": pages,
            }
        return {
            "page": self.number,
            "page_size": self.size,
            "total_items": total,
            "total_pages": pages,
        }


def _integer(query: Mapping[str, str], name: str, details: dict[str, list[str]]) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        details[name] = [f"Must be an integer, got {text!r}"]
        return None


def parse_page(query: Mapping[str, str]) -> Page:
    """The requested page; a value out of range is a 400 with details, never clamped."""
    details: dict[str, list[str]] = {}
    number = _integer(query, "page", details)
    per_page = _integer(query, "per_page", details)
    page_size = _integer(query, "page_size", details)
    if number is not None and number < 1:
        details["page"] = [f"Must be 1 or more, got {number}"]
    for name, value in (("per_page", per_page), ("page_size", page_size)):
        if value is not None and not 1 <= value <= MAX_SIZE:
            details[name] = [f"Must be between 1 and {MAX_SIZE}, got {value}"]
    if per_page is not None and page_size is not None and per_page != page_size:
        details["page_size"] = [
            f"per_page ({per_page}) and page_size ({page_size}) disagree; give one of them"
        ]
    if details:
        raise validation_failed(details)
    size = per_page if per_page is not None else page_size
    return Page(number or 1, size or DEFAULT_SIZE)
