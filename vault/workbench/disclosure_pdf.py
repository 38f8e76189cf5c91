"""The accounting of disclosures as a PDF a subject, a lawyer or a court can be handed.

The same content as the printable page (``vault.audit.report``): who, when,
which categories, for which purpose, under which consent or emergency grant,
and the report's digest, in the viewer's language. Drawn with fpdf2 (pure
Python) in the PDF core font, so nothing outside the package is read; text the
core font cannot draw is replaced, never dropped silently. The document's
dates are the report's own, so the same report gives the same bytes, whose
SHA-256 is recorded in the audit log beside the report's digest. The content
streams are left uncompressed, so the text can be searched with plain tools.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from fpdf import FPDF
from fpdf.enums import WrapMode

from vault.audit.report import DisclosureReport

__all__ = ["DisclosurePdf", "disclosure_pdf"]

COLUMNS = (("#", 14), ("when", 40), ("who", 62), ("what", 52), ("why", 40), ("report_basis", 62))


@dataclass(frozen=True)
class DisclosurePdf:
    content: bytes
    sha256: str


def _plain(text: object) -> str:
    """The text as the core font can draw it (Latin-1; anything else becomes '?')."""
    return str(text).encode("latin-1", errors="replace").decode("latin-1")


def _basis(row: Mapping[str, object], t: Mapping[str, str]) -> str:
    if row.get("break_glass"):
        return f"{t['emergency']} {str(row.get('break_glass_id') or '')[:8]}"
    if row.get("consent_id"):
        return f"{t['report_consent']} {str(row['consent_id'])[:8]}"
    return ""


def disclosure_pdf(
    report: DisclosureReport,
    names: Mapping[str, str],
    t: Mapping[str, str],
    proofs: Mapping[str, object] | None = None,
) -> DisclosurePdf:
    """The report as PDF bytes and their SHA-256 (``names``: actor id -> username)."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_creation_date(report.made_at)
    pdf.set_compression(False)  # small; its text stays searchable with plain tools
    pdf.set_title(_plain(t["disclosures_report"]))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _plain(t["disclosures_report"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _plain(f"{t['subject']}: {report.subject_id}"), new_x="LMARGIN", new_y="NEXT")
    made = report.made_at.strftime("%Y-%m-%d %H:%M:%S")
    pdf.cell(0, 6, _plain(f"{t['report_made_at']}: {made} UTC"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    if not report.rows:
        pdf.multi_cell(0, 6, _plain(t["report_no_disclosures"]), new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.set_font("Helvetica", "B", 9)
        for key, width in COLUMNS:
            pdf.cell(width, 7, _plain(t.get(key, key)), border=1)
        pdf.ln()
        pdf.set_font("Helvetica", "", 8)
        for row in report.rows:
            who = names.get(str(row.get("actor_id")), "")
            cells = (
                str(row.get("seq", "")),
                str(row.get("time", ""))[:19].replace("T", " "),
                f"{who} ({row.get('actor_role') or ''}, {row.get('actor_org') or ''})",
                ", ".join(str(c) for c in row.get("categories") or ()),
                str(row.get("purpose") or ""),
                _basis(row, t),
            )
            for (_, width), text in zip(COLUMNS, cells, strict=True):
                pdf.cell(width, 6, _plain(text)[: int(width / 1.6)], border=1)
            pdf.ln()
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, _plain(t["report_seal"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "", 9)
    pdf.cell(0, 6, f"SHA-256 {report.sha256}", new_x="LMARGIN", new_y="NEXT")
    if proofs and report.rows:
        # The inclusion proofs as JSON text: copied out of the PDF, they are what
        # tools/verify_log.py reads.
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 8, _plain(t["report_proofs_title"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, _plain(t["report_proofs_intro"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Courier", "", 6)
        text = json.dumps(proofs, indent=1)
        pdf.multi_cell(0, 2.6, _plain(text), new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    content = bytes(pdf.output())
    return DisclosurePdf(content, hashlib.sha256(content).hexdigest())
