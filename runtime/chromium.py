"""A small Chrome DevTools Protocol client for the station-page tests and the demo's station checks:
Debian's headless ``chromium`` (never a downloaded browser), one websocket to the browser, one page
target attached in flat mode.

``Browser.start(profile_dir)`` launches Chromium with a fresh profile and ``--remote-debugging-port=0``
and reads the port it chose from ``DevToolsActivePort``; :class:`Page` navigates, evaluates
JavaScript, types and presses keys, clicks at an element's centre with real mouse events, takes
screenshots and prints to PDF.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    "--window-size=1280,1600",
)


class CdpError(RuntimeError):
    pass


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, process: subprocess.Popen[bytes], ws: ClientConnection) -> None:
        self.process = process
        self.ws = ws
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    @classmethod
    def start(cls, profile_dir: Path, timeout_s: float = 30.0) -> Browser:
        binary = chromium_binary()
        if binary is None:
            raise CdpError("chromium is not installed (scripts/setup.sh installs it)")
        profile_dir.mkdir(parents=True, exist_ok=True)
        log = (profile_dir / "chromium.log").open("wb")
        process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        port_file = profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if port_file.exists() and len(port_file.read_text().splitlines()) >= 2:
                break
            if process.poll() is not None:
                raise CdpError(f"chromium exited with {process.returncode}")
            time.sleep(0.05)
        else:
            process.kill()
            raise CdpError("chromium did not open its DevTools port")
        port, path = port_file.read_text().splitlines()[:2]
        ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=timeout_s).__enter__()
        return cls(process, ws)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str | None, timeout_s: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError(f"no {method} within {timeout_s} s")
            try:
                self.events.append(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                continue

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("DOM.enable")
        page.call("CSS.enable")
        return page

    def close(self) -> None:
        with contextlib.suppress(CdpError, OSError, TimeoutError):  # it may already be gone
            self.send("Browser.close")
        try:
            self.ws.close()
        finally:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, self.session)

    def goto(self, url: str) -> None:
        self.browser.events = [e for e in self.browser.events if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", {"url": url})
        self.browser.wait_event("Page.loadEventFired", self.session)

    def js(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self) -> str:
        return str(self.js("document.body.innerText"))

    def url(self) -> str:
        return str(self.js("location.href"))

    def wait_for(self, expression: str, timeout_s: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                value = self.js(expression)
            except CdpError:
                value = None  # mid-navigation
            if value:
                return value
            time.sleep(0.1)
        raise CdpError(f"not true within {timeout_s} s: {expression}")

    def key(self, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
        """One key press (Tab, Enter, ...) as the keyboard sends it."""
        base = {"key": key, "code": code, "windowsVirtualKeyCode": key_code, "modifiers": modifiers}
        text = {"text": "\r"} if key == "Enter" else {}
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", **base, **text})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", **base})

    def tab(self, shift: bool = False) -> None:
        self.key("Tab", "Tab", 9, modifiers=8 if shift else 0)

    def enter(self) -> None:
        self.key("Enter", "Enter", 13)

    def type(self, text: str) -> None:
        self.call("Input.insertText", {"text": text})

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element (scrolled into view first)."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        if box is None:
            raise CdpError(f"no element {selector}")
        x, y = box
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            )

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])
        path.write_bytes(data)
        return data

    def pdf(self, path: Path) -> bytes:
        self.wait_for("document.readyState === 'complete' && document.fonts.status === 'loaded'")
        for attempt in range(3):
            try:
                result = self.call("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
                break
            except CdpError:  # "Printing failed" when the renderer is still busy laying out
                if attempt == 2:
                    raise
                time.sleep(0.5)
        data = base64.b64decode(result["data"])
        path.write_bytes(data)
        return data

    def fonts_for(self, selector: str) -> list[str]:
        """The platform fonts Chromium used to draw the text of the element."""
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = self.call("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return [str(f["familyName"]) for f in fonts]
