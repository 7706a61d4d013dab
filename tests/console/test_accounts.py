"""Operators on real SQLite and PostgreSQL: hashed passwords, grants, sessions, the rate limit."""

from __future__ import annotations

import hashlib

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from tests.console.conftest import Clock
from tidings.console.accounts import AccountError, Accounts, SignInRefused
from tidings.console.throttle import LoginLimits
from tidings.services import Services
from tidings.store.tables import console_sessions, operators

PASSWORD = "correct horse battery"
# Cheap parameters keep the many sign-ins here fast; one test checks the real ones.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
LIMITS = LoginLimits(window_ms=60_000, per_username=3, per_address=10)


@pytest.fixture
def accounts(services: Services, clock: Clock) -> Accounts:
    return Accounts(services.db, session_seconds=3600, limits=LIMITS, clock=clock, hasher=CHEAP)


def stored_hash(services: Services):
    return services.db.read(
        lambda conn: conn.execute(select(operators.c.password_hash)).scalar_one()
    )


async def test_the_password_is_stored_as_an_argon2id_hash_with_current_parameters(
    accounts: Accounts, services: Services, clock: Clock
) -> None:
    await accounts.create("alice", PASSWORD, workspaces=["ws1"], everything=False)
    weak = await stored_hash(services)
    assert weak.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert PASSWORD not in weak
    # Signing in where the defaults are stronger replaces the hash.
    current = Accounts(services.db, limits=LIMITS, clock=clock)
    await current.sign_in("alice", PASSWORD, "10.0.0.1")
    strong = await stored_hash(services)
    assert strong != weak and not PasswordHasher().check_needs_rehash(strong)
    await current.sign_in("alice", PASSWORD, "10.0.0.1")
    assert await stored_hash(services) == strong


async def test_grants_decide_what_an_operator_sees(accounts: Accounts) -> None:
    alice = await accounts.create("alice", PASSWORD, workspaces=["ws2", "ws1"], everything=False)
    root = await accounts.create("root", PASSWORD, everything=True)
    assert alice.workspaces == {"ws1", "ws2"}
    assert alice.may_see("ws1") and not alice.may_see("ws3")
    assert root.may_see("anything")
    assert [(o.username, o.workspaces) for o in await accounts.operators()] == [
        ("alice", {"ws1", "ws2"}),
        ("root", frozenset()),
    ]


@pytest.mark.parametrize(
    ("username", "password", "grants", "everything", "problem"),
    [
        ("al ice", PASSWORD, ["ws"], False, "username 'al ice'"),
        ("", PASSWORD, ["ws"], False, "username ''"),
        ("alice", "short", ["ws"], False, "at least 8 characters"),
        ("alice", PASSWORD, [], False, "grant at least one workspace"),
        ("alice", PASSWORD, ["no spaces"], False, "workspace 'no spaces'"),
    ],
)
async def test_bad_accounts_are_refused_with_the_reason(
    accounts: Accounts,
    username: str,
    password: str,
    grants: list[str],
    everything: bool,
    problem: str,
) -> None:
    with pytest.raises(AccountError, match=problem):
        await accounts.create(username, password, workspaces=grants, everything=everything)
    assert await accounts.operators() == []


async def test_a_username_is_taken_once(accounts: Accounts) -> None:
    await accounts.create("alice", PASSWORD, workspaces=["ws"], everything=False)
    with pytest.raises(AccountError, match="already exists"):
        await accounts.create("alice", PASSWORD + "x", everything=True)


async def test_a_session_is_kept_as_a_hash_and_ends_when_it_expires(
    accounts: Accounts, services: Services, clock: Clock
) -> None:
    await accounts.create("alice", PASSWORD, workspaces=["ws"], everything=False)
    token, session = await accounts.sign_in("alice", PASSWORD, "10.0.0.1")
    assert session.operator.username == "alice"
    stored = await services.db.read(
        lambda conn: conn.execute(select(console_sessions.c.token_hash)).scalars().all()
    )
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]

    found = await accounts.session(token)
    assert found is not None and found.csrf_token == session.csrf_token
    assert await accounts.session(token + "x") is None
    assert await accounts.session(None) is None

    clock.now += 3599
    assert await accounts.session(token) is not None
    clock.now += 1
    assert await accounts.session(token) is None


async def test_signing_out_and_deleting_the_operator_end_sessions(accounts: Accounts) -> None:
    await accounts.create("alice", PASSWORD, workspaces=["ws"], everything=False)
    first, _ = await accounts.sign_in("alice", PASSWORD, "10.0.0.1")
    second, _ = await accounts.sign_in("alice", PASSWORD, "10.0.0.1")
    assert first != second
    await accounts.sign_out(first)
    assert await accounts.session(first) is None
    assert await accounts.session(second) is not None
    await accounts.delete("alice")
    assert await accounts.session(second) is None
    with pytest.raises(AccountError, match="no operator named 'alice'"):
        await accounts.delete("alice")


async def test_a_wrong_password_and_an_unknown_user_are_refused_alike(accounts: Accounts) -> None:
    await accounts.create("alice", PASSWORD, workspaces=["ws"], everything=False)
    with pytest.raises(SignInRefused, match=r"^wrong username or password$"):
        await accounts.sign_in("alice", "wrong password", "10.0.0.1")
    with pytest.raises(SignInRefused, match=r"^wrong username or password$"):
        await accounts.sign_in("nobody", PASSWORD, "10.0.0.1")


async def test_failures_slow_down_a_username_until_the_window_passes(
    accounts: Accounts, clock: Clock
) -> None:
    await accounts.create("alice", PASSWORD, workspaces=["ws"], everything=False)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        with pytest.raises(SignInRefused, match="wrong"):
            await accounts.sign_in("alice", "guess", address)
    clock.now += 20
    # Even the right password is not checked while the limit holds.
    with pytest.raises(SignInRefused, match="try again in 40 seconds") as refused:
        await accounts.sign_in("alice", PASSWORD, "10.0.0.4")
    assert refused.value.retry_after_s == 40
    clock.now += 40
    token, _ = await accounts.sign_in("alice", PASSWORD, "10.0.0.4")
    assert await accounts.session(token) is not None


async def test_failures_from_one_address_slow_it_down_for_every_username(
    accounts: Accounts,
) -> None:
    await accounts.create("alice", PASSWORD, workspaces=["ws"], everything=False)
    for n in range(10):
        with pytest.raises(SignInRefused, match="wrong"):
            await accounts.sign_in(f"user{n}", "guess", "10.9.9.9")
    with pytest.raises(SignInRefused, match="too many failed sign-ins"):
        await accounts.sign_in("alice", PASSWORD, "10.9.9.9")
    await accounts.sign_in("alice", PASSWORD, "10.0.0.1")  # another address is not held back


async def test_a_successful_sign_in_forgets_the_usernames_failures(
    accounts: Accounts,
) -> None:
    await accounts.create("alice", PASSWORD, workspaces=["ws"], everything=False)
    for _ in range(2):
        with pytest.raises(SignInRefused):
            await accounts.sign_in("alice", "guess", "10.0.0.1")
    await accounts.sign_in("alice", PASSWORD, "10.0.0.1")
    for _ in range(2):
        with pytest.raises(SignInRefused, match="wrong"):
            await accounts.sign_in("alice", "guess", "10.0.0.1")
