"""The reception desk's official forms (Government Office circular, forms 01-03) as PDF bytes."""

from engine.pdf.forms import (
    RefusalData,
    SlipData,
    SupplementRequestData,
    receipt_slip_pdf,
    refusal_pdf,
    supplement_request_pdf,
)
from engine.pdf.layout import FontMissing, default_font_dir

__all__ = [
    "FontMissing",
    "RefusalData",
    "SlipData",
    "SupplementRequestData",
    "default_font_dir",
    "receipt_slip_pdf",
    "refusal_pdf",
    "supplement_request_pdf",
]
