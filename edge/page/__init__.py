"""The station page the edge agent serves on the station network: staff accounts and sessions
(:mod:`edge.page.accounts`, no web dependencies, so the ``edge staff`` commands run without them),
the Starlette application (:mod:`edge.page.app`), its words in Korean and English
(:mod:`edge.page.texts`), the trend chart (:mod:`edge.page.chart`), the follow-up list
(:mod:`edge.page.followup`) and the server thread (:mod:`edge.page.server`)."""
