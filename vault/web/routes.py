"""The web pages' handlers, static files and template engine, as ``create_app`` wires them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from vault.web import (
    dashboard,
    dashboard_charts,
    dashboard_pdf,
    dashboard_review,
    dashboard_statistics,
    dashboard_workbench,
    kiosk,
    kiosk_export,
    kiosk_guardian,
    kiosk_mine,
    kiosk_pin,
    kiosk_signing,
)
from vault.web.common import SECURITY_HEADERS, WEB_OPT

HERE = Path(__file__).resolve().parent
STATIC_PATH = "/web-static"


def _static_headers(response: Any) -> Any:
    response.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"})
    return response


def web_handlers() -> list[Any]:
    return [
        kiosk.kiosk_root,
        kiosk.kiosk_login_page,
        kiosk.kiosk_login,
        kiosk.kiosk_start_page,
        kiosk.kiosk_start,
        kiosk.kiosk_home,
        kiosk.kiosk_language,
        kiosk.kiosk_end,
        kiosk.kiosk_ended,
        kiosk_pin.choose_pin_page,
        kiosk_pin.choose_pin,
        kiosk_pin.reset_page,
        kiosk_pin.request_reset,
        kiosk_pin.disown_pin,
        kiosk_guardian.guardian_page,
        kiosk_guardian.enrol_guardian,
        kiosk_signing.form_intro,
        kiosk_signing.purpose_page,
        kiosk_signing.purpose_choice,
        kiosk_signing.summary_page,
        kiosk_signing.sign,
        kiosk_signing.receipt_page,
        kiosk_mine.consents_pin,
        kiosk_mine.consents_page,
        kiosk_mine.withdraw_page,
        kiosk_mine.withdraw,
        kiosk_mine.disclosures_pin,
        kiosk_mine.disclosures_page,
        kiosk_export.my_data_page,
        kiosk_export.my_data,
        dashboard.dashboard_login_page,
        dashboard.dashboard_login,
        dashboard.dashboard,
        dashboard.dashboard_export,
        dashboard.dashboard_logout,
        dashboard.dashboard_review,
        dashboard_workbench.dashboard_language,
        dashboard_workbench.dashboard_find,
        dashboard_workbench.dashboard_acknowledge,
        dashboard_workbench.dashboard_verify,
        dashboard_workbench.dashboard_disclosures,
        *dashboard_review.REVIEW_HANDLERS,
        *dashboard_charts.CHART_HANDLERS,
        *dashboard_pdf.PDF_HANDLERS,
        dashboard_statistics.dashboard_statistics,
        create_static_files_router(
            path=STATIC_PATH,
            directories=[HERE / "static"],
            opt=WEB_OPT,
            include_in_schema=False,
            name="web-static",
            after_request=_static_headers,
        ),
    ]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja with autoescaping on for every template (HTML and SVG) and strict undefined names."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        auto_reload=False,
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))
