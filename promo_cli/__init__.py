"""promo: month-end settlement of sales-promotion campaigns."""

__version__ = "0.1.0"
