"""``create_app(settings)``: the Litestar application. Nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from vault.access.http import HANDLERS as ACCESS_HANDLERS
from vault.audit.http import AUDIT_HANDLERS
from vault.config import Settings
from vault.consent.http import CONSENT_HANDLERS
from vault.handover.http import HANDLERS as HANDOVER_HANDLERS
from vault.health import health
from vault.http.authentication import authentication_middleware
from vault.http.gate import decision_gate
from vault.http.middleware import request_id_middleware
from vault.http.openapi import OpenJsonRenderPlugin, OpenYamlRenderPlugin, operation_id
from vault.http.problems import EXCEPTION_HANDLERS
from vault.identity.http import HANDLERS as IDENTITY_HANDLERS
from vault.keys.http import KEYS_HANDLERS
from vault.records.http import HANDLERS as RECORDS_HANDLERS
from vault.services import Services, build_services
from vault.statistics.http import HANDLERS as STATISTICS_HANDLERS
from vault.subjects.http import HANDLERS as SUBJECTS_HANDLERS
from vault.threads import stop_worker_threads, use_worker_threads
from vault.tlog.http import TLOG_HANDLERS
from vault.web.routes import template_config, web_handlers
from vault.workbench.http import ALERT_HANDLERS

API_VERSION = "0.1.0"


def _logging_config(level: str) -> LoggingConfig:
    # Handlers log the request id only; no request or response bodies, headers or cookies.
    return LoggingConfig(
        root={"level": level, "handlers": ["console"]},
        filters={"request_id": {"()": "vault.requestctx.RequestIdLogFilter"}},
        formatters={
            "standard": {
                "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
            }
        },
        handlers={
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "standard",
                "filters": ["request_id"],
            },
            "queue_listener": {
                "class": "litestar.logging.standard.QueueListenerHandler",
                "handlers": ["cfg://handlers.console"],
            },
        },
        loggers={"vault": {"level": level, "handlers": ["queue_listener"], "propagate": False}},
        log_exceptions="never",
        disable_stack_trace={Exception},
    )


def route_handlers() -> list[Any]:
    """Every HTTP handler of the vault, capability by capability."""
    return [
        health,
        *IDENTITY_HANDLERS,
        *ACCESS_HANDLERS,
        *KEYS_HANDLERS,
        *AUDIT_HANDLERS,
        *TLOG_HANDLERS,
        *ALERT_HANDLERS,
        *CONSENT_HANDLERS,
        *SUBJECTS_HANDLERS,
        *RECORDS_HANDLERS,
        *HANDOVER_HANDLERS,
        *STATISTICS_HANDLERS,
        *web_handlers(),
    ]


def service_dependencies(services: Services) -> dict[str, Provide]:
    """Every long-lived service by its name, for handlers to ask for by parameter.

    A handler writes ``identity: IdentityService`` and gets ``services.identity``:
    controllers import their own capability's service type, never this
    composition root, so no capability depends on the others through it.
    """

    def provider(value: object) -> Callable[[], object]:
        def provide() -> object:
            return value

        return provide

    return {
        field.name: Provide(provider(getattr(services, field.name)), sync_to_thread=False)
        for field in fields(services)
    }


def create_app(settings: Settings, services: Services | None = None) -> Litestar:
    """Build the app; ``services`` may be given (tests), else they are built from settings."""
    owned = services is None
    built = services or build_services(settings)

    def close_services() -> None:
        if owned:
            built.close()

    app = Litestar(
        route_handlers=route_handlers(),
        dependencies=service_dependencies(built),
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=template_config(),
        middleware=[authentication_middleware()],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Records vault",
            version=API_VERSION,
            path="/schema",
            use_handler_docstrings=True,
            operation_id_creator=operation_id,
            # JSON and YAML only: the UIs load scripts from a CDN, and the vault runs offline.
            render_plugins=[
                OpenJsonRenderPlugin(path=["/", "/openapi.json"]),
                OpenYamlRenderPlugin(),
            ],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="opaque")
                }
            ),
            security=[{"bearer": []}],
        ),
        logging_config=_logging_config(settings.log_level),
        on_startup=[use_worker_threads],
        on_shutdown=[stop_worker_threads, close_services],
        debug=False,
    )
    app.state.services = built
    # Wrap the outermost handler, not the routes: a 404 for an unknown path or a
    # rejected Host header never reaches route middleware, and still needs an id.
    app.asgi_handler = request_id_middleware(
        decision_gate(app.asgi_handler), settings.allowed_hosts
    )
    logging.getLogger("vault").debug("app created")
    return app


def app_from_env() -> Litestar:
    """Factory for ASGI servers: settings from the environment."""
    from vault.config import load_settings

    return create_app(load_settings())
