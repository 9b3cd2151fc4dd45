"""API Gateway's greedy path parameters (`/{proxy+}`) for Chalice's local server and test client.

API Gateway sends a path no explicit resource matches to the deepest greedy resource above
it; Chalice's local `RouteMatcher` knows only one-segment parameters and answers 403
"Missing Authentication Token" instead. `install()` swaps in a matcher that tries the
explicit routes first, exactly as before, and then the greedy ones (longest prefix first).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from chalice import local

_GREEDY = re.compile(r"\{(\w+)\+\}$")


class GreedyRouteMatcher(local.RouteMatcher):
    def __init__(self, route_urls: list[str]) -> None:
        self.greedy = sorted((u for u in route_urls if _GREEDY.search(u)), key=len, reverse=True)
        super().__init__([u for u in route_urls if u not in self.greedy])

    def match_route(self, url: str) -> local.MatchResult:
        try:
            return super().match_route(url)
        except ValueError:
            parsed = urlparse(url)
            path = parsed.path.rstrip("/") if parsed.path != "/" else parsed.path
            for route in self.greedy:
                found = _GREEDY.search(route)
                prefix = route[:found.start()]
                if path.startswith(prefix) and len(path) > len(prefix):
                    captured = {found.group(1): path[len(prefix):]}
                    return local.MatchResult(route, captured, parse_qs(parsed.query, keep_blank_values=True))
            raise


def install() -> None:
    local.RouteMatcher = GreedyRouteMatcher  # LocalGateway looks the name up when it is built
