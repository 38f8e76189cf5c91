"""One ``vault`` process signing withdrawal notices, slowly, from a given moment: run as
``python -m tests.handover.notice_race START`` with the store's environment, twice at once,
by the test of notice signing across processes."""

from __future__ import annotations

import sys
import time
from typing import Any

from vault.config import load_settings
from vault.services import build_services

SIGNING_SECONDS = 0.3


class SlowSigner:
    """The vault's signer, taking its time: two processes both sign before either keeps."""

    def __init__(self, signer: Any) -> None:
        self._signer = signer

    def sign_jws(self, claims: dict[str, Any]) -> str:
        time.sleep(SIGNING_SECONDS)
        return str(self._signer.sign_jws(claims))


def main(start_at: float) -> int:
    services = build_services(load_settings())
    try:
        outbox = services.handover_notices.outbox
        outbox.signer = SlowSigner(outbox.signer)
        time.sleep(max(0.0, start_at - time.time()))
        services.handover_notices.issue()
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1])))
