"""The station page's HTTP server: uvicorn in a thread of the edge agent's process, so the page
reads the same station store and hands case actions straight to the agent's spool."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING

import uvicorn

from edge.page.accounts import Accounts
from edge.page.app import StationPage

if TYPE_CHECKING:
    from edge.agent import EdgeAgent

log = logging.getLogger("frailwatch.edge.page")


class PageServer:
    def __init__(self, page: StationPage, host: str, port: int) -> None:
        self.page = page
        config = uvicorn.Config(
            page.app(), host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.host, self.port = host, port
        self._thread = threading.Thread(target=self._serve, name="station-page", daemon=True)

    @classmethod
    def for_agent(cls, agent: EdgeAgent) -> PageServer:
        s = agent.settings
        accounts = Accounts(s.spool_dir / "staff.sqlite3", session_s=s.page_session_hours * 3600)
        page = StationPage(
            settings=s,
            store=agent.station_store,
            pseudonyms=agent.pseudonyms,
            accounts=accounts,
            submit=agent.spool_case_event,
        )
        return cls(page, s.page_host, s.page_port)

    def _serve(self) -> None:
        asyncio.run(self.server.serve())

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError(f"station page could not listen on {self.host}:{self.port}")
        log.info("station page listening on http://%s:%d/", self.host, self.port)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(5)
        self.page.accounts.close()
