"""Every sandbox fault against the client: reads retried with backoff, tokens re-issued once, orders never
re-sent (a lost response is resolved by lookup)."""

from __future__ import annotations

import pytest

from hantu.broker.base import OrderStateUnknown
from hantu.broker.kis.errors import (
    KisOrderRejected,
    KisOrderUnknown,
    KisServerError,
    KisTokenExpiredError,
)

SAMSUNG = "005930"
PRICE_TR = "FHKST01010100"


def _requests(sandbox, tr_id: str) -> list[dict]:
    return [r for r in sandbox.stats()["requests"] if r["tr_id"] == tr_id]


def _codes(sandbox, tr_id: str) -> list[str]:
    return [r["msg_cd"] for r in _requests(sandbox, tr_id)]


def test_rate_limit_error_backs_off_and_retries(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"))
    sandbox.add_fault("rate_limit", 2, tr_id=PRICE_TR)
    assert api.price(SAMSUNG).price > 0
    assert _codes(sandbox, PRICE_TR) == ["EGW00201", "EGW00201", "MCA00000"]
    assert api.client.stats.rate_limited == 2


def test_real_rate_limit_of_the_server_is_enforced(sandbox, make_api) -> None:
    """Without pacing (the client told a much higher rate), the sandbox refuses the excess with EGW00201."""
    account = sandbox.create_account("prod", rate_limit=5)
    api = make_api(account, rate_limit=1000, read_attempts=1)
    from hantu.broker.kis.errors import KisRateLimitError

    with pytest.raises(KisRateLimitError):
        for _ in range(12):
            api.price(SAMSUNG)


def test_server_errors_and_malformed_bodies_are_retried(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"))
    sandbox.add_fault("server_error", 1, tr_id=PRICE_TR)
    sandbox.add_fault("malformed", 1, tr_id=PRICE_TR)
    assert api.price(SAMSUNG).price > 0
    assert _codes(sandbox, PRICE_TR) == ["", "EGW00500", "MCA00000"]  # malformed first: no JSON, no msg_cd


def test_persistent_server_errors_surface_as_a_typed_error(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"), read_attempts=3)
    sandbox.add_fault("server_error", 10, tr_id=PRICE_TR)
    with pytest.raises(KisServerError) as caught:
        api.price(SAMSUNG)
    assert caught.value.status == 500 and caught.value.msg_cd == "EGW00500"
    assert len(_requests(sandbox, PRICE_TR)) == 3


def test_timeouts_on_reads_are_retried(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"), timeout=0.8)
    api.client.access_token()
    sandbox.add_fault("timeout", 1, tr_id=PRICE_TR, delay=2.0)
    assert api.price(SAMSUNG).price > 0
    assert len(_requests(sandbox, PRICE_TR)) == 2  # the timed-out one, then the retry


@pytest.mark.parametrize("kind", ["token_expired", "token_invalid"])
def test_token_error_reissues_once(kind, sandbox, make_api) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account)
    api.price(SAMSUNG)
    sandbox.add_fault(kind, 1, tr_id=PRICE_TR)
    assert api.price(SAMSUNG).price > 0
    issuances = sandbox.stats(account.app_key)["token_issuances"]
    assert len(issuances) == 2 and issuances[1]["new"]
    assert api.client.stats.token_rejections == 1


def test_token_rejected_twice_fails_loudly(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"))
    sandbox.add_fault("token_expired", 2, tr_id=PRICE_TR)
    with pytest.raises(KisTokenExpiredError):
        api.price(SAMSUNG)


def test_token_issue_limit_reuses_or_waits(sandbox, make_api, sim_clock) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account)
    sandbox.add_fault("token_issue_limit", 1)
    before = sim_clock.now()
    assert api.price(SAMSUNG).price > 0  # waited a minute (on the clock) and issued
    assert (sim_clock.now() - before).total_seconds() >= 60
    assert len(sandbox.stats(account.app_key)["token_issuances"]) == 1


def test_lost_order_response_is_resolved_by_lookup_not_a_second_order(sandbox, make_api) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account, timeout=0.8)
    api.client.access_token()
    sandbox.add_fault("drop_response", 1, path="order-cash", delay=2.0)
    ack = api.order_cash("buy", SAMSUNG, 3)
    assert ack.recovered and len(ack.odno) == 10
    stats = sandbox.stats(account.app_key)
    assert stats["orders_received"] == 1  # one order request reached the sandbox
    assert [o["odno"] for o in stats["order_requests"]] == [ack.odno]
    assert len(_requests(sandbox, "VTTC0012U")) == 1


def test_5xx_after_acceptance_is_resolved_by_lookup(sandbox, make_api) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account)
    api.order_cash("buy", SAMSUNG, 3)  # an identical earlier order must not be mistaken for the lost one
    sandbox.add_fault("server_error", 1, path="order-cash", after=True)
    ack = api.order_cash("buy", SAMSUNG, 3)
    orders = sandbox.stats(account.app_key)["order_requests"]
    assert ack.recovered and ack.odno == orders[-1]["odno"] and len(orders) == 2


def test_order_that_never_arrived_is_reported_unknown_not_resent(sandbox, make_api) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account, timeout=0.8)
    api.client.access_token()
    sandbox.add_fault("timeout", 1, path="order-cash", delay=2.0)
    with pytest.raises(KisOrderUnknown) as caught:
        api.order_cash("buy", SAMSUNG, 3)
    assert isinstance(caught.value, OrderStateUnknown)
    assert len(_requests(sandbox, "VTTC0012U")) == 1  # sent once, never again
    assert sandbox.stats(account.app_key)["orders_received"] == 0


def test_order_refused_at_the_gateway_is_sent_again(sandbox, make_api) -> None:
    """EGW00201 means the gateway refused it: nothing was placed, so sending it again is safe."""
    account = sandbox.create_account("virtual")
    api = make_api(account)
    sandbox.add_fault("rate_limit", 1, path="order-cash")
    ack = api.order_cash("buy", SAMSUNG, 2)
    assert not ack.recovered
    assert _codes(sandbox, "VTTC0012U") == ["EGW00201", "APBK0013"]
    assert sandbox.stats(account.app_key)["orders_received"] == 1


def test_order_with_expired_token_is_sent_again_after_reissue(sandbox, make_api) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account)
    api.price(SAMSUNG)
    sandbox.add_fault("token_expired", 1, path="order-cash")
    assert api.order_cash("buy", SAMSUNG, 2).odno
    assert sandbox.stats(account.app_key)["orders_received"] == 1


def test_business_refusal_in_a_500_is_a_rejection(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"))
    with pytest.raises(KisOrderRejected):
        api.order_cash("buy", "999999", 1)  # OPSQ-style refusal, no lookup
