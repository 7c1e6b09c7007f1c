"""A separate client process for the shared-token and shared-rate tests (run as a script by the tests)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hantu.broker.kis.api import KisApi
from hantu.broker.kis.client import KisClient
from hantu.broker.kis.config import KisConfig


def main() -> None:
    spec = json.loads(sys.argv[1])
    config = KisConfig(app_key=spec["app_key"], app_secret=spec["app_secret"], server=spec["server"],
                       account=spec["account"], base_url=spec["base_url"], home=Path(spec["home"]),
                       rate_limit=spec.get("rate_limit"))
    api = KisApi(KisClient(config))
    prices = [api.price(spec["code"]).price for _ in range(spec["count"])]
    print(json.dumps({"prices": prices, "issued_here": api.client.tokens.issued_here,
                      "rate_limited": api.client.stats.rate_limited}))


if __name__ == "__main__":
    main()
