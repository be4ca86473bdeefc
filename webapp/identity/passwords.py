"""Local accounts: argon2id hashing and the lockout policy.

The failure counter lives in the users row and is changed by single atomic UPDATEs, so
parallel attempts count exactly and a locked account cannot be entered, even with the right
password, until the lock expires.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, NoReturn, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, case, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from webapp.models import Role, User, UTCDateTime

from .audit import AuditLog
from .crypto import fingerprint
from .db import execute_dml, keep_on_refusal
from .emails import EmailPolicy, user_by_email
from .errors import (
    AccountDisabled,
    AccountLocked,
    Busy,
    Conflict,
    InvalidCredentials,
    PolicyViolation,
)
from .lockout import UnknownAddressLockout
from .principal import RequestMeta
from .rbac import ANALYST

T = TypeVar("T")
MAX_PASSWORD_LENGTH = 1024
ADMIN_LOCK_YEAR = 9999  # see users.ADMIN_LOCK


class Passwords:
    """argon2id, bounded so that hashing cannot starve the rest of the process.

    Hashes run on a small pool of threads (``concurrency`` per process) whose scheduling
    priority is lowered (``nice``; argon2's own lane threads inherit it), so under a login
    flood the CPU goes first to token checks. At most ``queue`` more checks wait for the pool;
    past that a sign-in is refused at once with ``Busy`` (503, Retry-After) instead of holding
    a request thread that API calls need.
    """

    def __init__(
        self,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        concurrency: int,
        nice: int = 0,
        queue: int | None = None,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._concurrency = concurrency
        self._nice = nice
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()
        self._held = threading.local()
        self._admission = threading.BoundedSemaphore(
            concurrency + (concurrency if queue is None else queue)
        )
        self._dummy_hash = self.hash(secrets.token_urlsafe(16))

    def _lower_priority(self) -> None:
        if self._nice > 0:
            with contextlib.suppress(OSError):  # only ever lowers priority, which is allowed
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)

    def _run(self, fn: Callable[[], T]) -> T:
        pool = self._pool
        if pool is None or self._pool_pid != os.getpid():  # (re)built after a fork
            with self._pool_lock:
                if self._pool is None or self._pool_pid != os.getpid():
                    self._pool = ThreadPoolExecutor(
                        self._concurrency,
                        thread_name_prefix="limen-argon2",
                        initializer=self._lower_priority,
                    )
                    self._pool_pid = os.getpid()
                pool = self._pool
        with self.admitted():
            return pool.submit(fn).result()

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold a place in the bound for a whole sign-in, so a refused one costs nothing
        (not even its user lookup); re-entrant within a thread."""
        if getattr(self._held, "slot", False):
            yield
            return
        if not self._admission.acquire(blocking=False):
            raise Busy(
                "Too many sign-ins are being checked right now; retry in a second. (Password "
                "checks are bounded so that they cannot slow down everything else.)"
            )
        self._held.slot = True
        try:
            yield
        finally:
            self._held.slot = False
            self._admission.release()

    def hash(self, password: str) -> str:
        """An argon2id hash of ``password``, computed on the bounded pool."""
        return self._run(lambda: self._hasher.hash(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if it matches. With no hash, a dummy is checked so timing stays the same."""

        def check() -> bool:
            try:
                return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                    password_hash is not None
                )
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return self._run(check)

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with other argon2 parameters than today's."""
        return self._hasher.check_needs_rehash(password_hash)


class LocalAccounts:
    """Local accounts: registration, password sign-in and lockout."""

    def __init__(
        self,
        db: DbSession,
        passwords: Passwords,
        audit: AuditLog,
        clock: Callable[[], datetime],
        *,
        emails: EmailPolicy,
        ghosts: UnknownAddressLockout,
        lockout_threshold: int,
        lockout_seconds: int,
        min_length: int,
    ) -> None:
        self._db = db
        self._passwords = passwords
        self._audit = audit
        self._clock = clock
        self._emails = emails
        self._ghosts = ghosts
        self._threshold = lockout_threshold
        self._lock_seconds = lockout_seconds
        self._min_length = min_length

    def check_new_password(self, password: str, email: str) -> None:
        """Refuse a weak new password with a ``PolicyViolation`` that says why."""
        if len(password) < self._min_length:
            raise PolicyViolation(
                f"The password must be at least {self._min_length} characters long; a few "
                "unrelated words make a strong, memorable one."
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise PolicyViolation(f"The password must be at most {MAX_PASSWORD_LENGTH} characters.")
        if password.strip().lower() == email.lower():
            raise PolicyViolation("The password must not be the email address.")

    def create_user(
        self,
        email: str,
        password: str | None,
        *,
        roles: tuple[str, ...] = (ANALYST,),
        display_name: str = "",
        meta: RequestMeta | None = None,
        actor: str | None = None,
    ) -> User:
        """Create a local user in the caller's transaction (flushed, not committed)."""
        address = self._emails.normalize(email)
        email = address.display
        if password is not None:
            self.check_new_password(password, email)
        if user_by_email(self._db, address.key, email) is not None:
            raise Conflict(f"An account with the email {email} already exists. Sign in instead.")
        role_rows = list(self._db.scalars(select(Role).where(Role.name.in_(roles))))
        if len(role_rows) != len(set(roles)):
            raise PolicyViolation(f"Unknown role in {', '.join(roles)}.")
        user = User(
            email=email,
            email_normalized=address.key,
            display_name=display_name,
            password_hash=self._passwords.hash(password) if password is not None else None,
            roles=role_rows,
            created_at=self._clock(),
        )
        try:
            with self._db.begin_nested():
                self._db.add(user)
        except IntegrityError as exc:  # a concurrent registration won the race
            raise Conflict(f"An account with the email {email} already exists.") from exc
        self._audit.record(
            "user.created", user_id=user.id, actor=actor or user.id, meta=meta, roles=list(roles)
        )
        return user

    def find(self, email: str) -> User | None:
        """The account an address names, however it is spelled."""
        return user_by_email(self._db, self._emails.key_or_none(email), email)

    def verify_login(
        self,
        email: str,
        password: str,
        meta: RequestMeta,
        second_factor: Callable[[User], bool] | None = None,
    ) -> User:
        """The user whose password this is, or a typed failure. Commits its bookkeeping.

        ``second_factor`` runs after a correct password: False counts as a failed attempt
        (so guessing one-time codes meets the same lockout), an exception passes through."""
        with self._passwords.admitted():  # refused at once, before any work, when busy
            return self._verify_login(email, password, meta, second_factor)

    def _verify_login(
        self,
        email: str,
        password: str,
        meta: RequestMeta,
        second_factor: Callable[[User], bool] | None,
    ) -> User:
        now = self._clock()
        key = self._emails.key_or_none(email)
        user = user_by_email(self._db, key, email)
        if user is None:
            self._unknown_address(key or email.strip().lower(), password, meta)
        if user.locked_until is not None and user.locked_until > now:
            self._fail(user.id, meta, reason="locked")
            raise AccountLocked(self._retry_after(user.locked_until, now))
        if not self._passwords.verify(user.password_hash, password):
            self._count_failure(user, now, meta)
            raise InvalidCredentials(self._invalid_detail())
        if second_factor is not None and not second_factor(user):
            self.second_factor_failed(user, meta)
        return self._succeed(user, password, now, meta)

    def second_factor_failed(self, user: User, meta: RequestMeta) -> NoReturn:
        """Count a wrong one-time code like a wrong password, then refuse."""
        self._count_failure(user, self._clock(), meta, reason="bad_otp")
        raise InvalidCredentials(
            "The one-time code is wrong, expired or already used. Enter the current code "
            "from your authenticator app, or a recovery code."
        )

    def second_factor_passed(self, user: User, meta: RequestMeta) -> User:
        """Finish a sign-in whose password was checked earlier (the portal's second step)."""
        now = self._clock()
        if user.locked_until is not None and user.locked_until > now:
            self._fail(user.id, meta, reason="locked")
            raise AccountLocked(self._retry_after(user.locked_until, now))
        return self._succeed(user, None, now, meta)

    # -- internals -------------------------------------------------------------------------
    def _unknown_address(self, key: str, password: str, meta: RequestMeta) -> NoReturn:
        """Answer exactly as for an account: the same checks, timing class and lockout."""
        retry_after = self._ghosts.retry_after(key)
        if retry_after is not None:
            self._fail(None, meta, reason="locked", email_fp=fingerprint(key))
            raise AccountLocked(retry_after)
        self._passwords.verify(None, password)  # a dummy argon2 check: the same cost
        self._ghosts.failed(key)
        self._fail(None, meta, reason="unknown_email", email_fp=fingerprint(key))
        raise InvalidCredentials(self._invalid_detail())

    def _invalid_detail(self) -> str:
        return (
            "The email or password is incorrect. Check both and try again; after "
            f"{self._threshold} failed attempts the account is locked for a while."
        )

    @staticmethod
    def _retry_after(locked_until: datetime, now: datetime) -> int | None:
        if locked_until.year >= ADMIN_LOCK_YEAR:
            return None  # an administrator's lock does not run out
        return max(1, int((locked_until - now).total_seconds() + 0.999))

    def _fail(self, user_id: str | None, meta: RequestMeta, **details: Any) -> None:
        self._audit.record(
            "login.failure", outcome="failure", user_id=user_id, meta=meta, **details
        )
        keep_on_refusal(self._db)  # the failure is on record though the answer is a refusal

    def _count_failure(
        self, user: User, now: datetime, meta: RequestMeta, reason: str = "bad_password"
    ) -> None:
        expired_lock = and_(User.locked_until.is_not(None), User.locked_until <= now)
        new_count = case((expired_lock, 1), else_=User.failed_login_count + 1)
        lock_until = literal(now + timedelta(seconds=self._lock_seconds), UTCDateTime())
        stmt = (
            update(User)
            .where(User.id == user.id)
            .values(
                failed_login_count=new_count,
                locked_until=case(
                    (new_count >= self._threshold, lock_until),
                    (expired_lock, None),
                    else_=User.locked_until,
                ),
            )
            .returning(User.failed_login_count)
            .execution_options(synchronize_session=False)
        )
        count = self._db.execute(stmt).scalar_one()
        self._audit.record(
            "login.failure",
            outcome="failure",
            user_id=user.id,
            meta=meta,
            reason=reason,
            failed_count=count,
        )
        if count == self._threshold:
            self._audit.record(
                "login.locked",
                outcome="failure",
                user_id=user.id,
                meta=meta,
                lock_seconds=self._lock_seconds,
            )
        keep_on_refusal(self._db)  # the count and the lock hold though the answer is a refusal

    def _succeed(self, user: User, password: str | None, now: datetime, meta: RequestMeta) -> User:
        not_locked = or_(User.locked_until.is_(None), User.locked_until <= now)
        values: dict[str, object] = {
            "failed_login_count": 0,
            "locked_until": None,
            "last_login_at": now,
        }
        if password and user.password_hash and self._passwords.needs_rehash(user.password_hash):
            values["password_hash"] = self._passwords.hash(password)
        success = self._db.begin_nested()  # undone below if the sign-in is refused after all
        result = execute_dml(
            self._db,
            update(User)
            .where(User.id == user.id, not_locked)
            .values(**values)
            .execution_options(synchronize_session=False),
        )
        if result.rowcount == 0:  # locked by a parallel failure after we read the row
            success.rollback()
            self._db.refresh(user)
            locked_until = user.locked_until or now
            self._fail(user.id, meta, reason="locked")
            raise AccountLocked(self._retry_after(locked_until, now))
        if not user.is_active:
            success.rollback()
            self._fail(user.id, meta, reason="disabled")
            raise AccountDisabled("This account is disabled. Ask an administrator to re-enable it.")
        success.commit()
        self._db.refresh(user)
        return user
