"""Staff accounts: argon2-hashed passwords, roles, teams, duty, contact details for reminders.

Accounts live in routing's database (`staff`, `_id` = username), behind the `StaffStore` protocol. Tokens
are issued with `shared.security.issue_token`, so intake and notify can verify them without calling routing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.routing.cache import CACHE_TTL_S, Cached
from services.routing.domain.model import Role, StaffInfo
from services.routing.domain.teams import Directory

Document = dict[str, Any]

DEV_PASSWORD = "dev-password"
USERNAME = r"^[a-z0-9][a-z0-9._-]{1,62}$"
_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow (tens of ms): keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (no user enumeration by timing)."""
    target = password_hash or _dummy_hash()
    try:
        ok = await asyncio.to_thread(_hasher.verify, target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return bool(ok) and password_hash is not None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no-such-account-placeholder")


@lru_cache(maxsize=1)
def _dev_hash() -> str:
    # Dev accounts share one hash, computed once per process: seeding 20 accounts stays fast.
    return _hasher.hash(DEV_PASSWORD)


class StaffAccount(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    username: str = Field(alias="_id")
    password_hash: str
    role: Role
    team: str | None = None
    display_name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"
    active: bool = True
    on_duty: bool = True
    created_at: datetime
    updated_at: datetime

    def info(self) -> StaffInfo:
        return StaffInfo(
            username=self.username,
            role=self.role,
            team=self.team,
            display_name=self.display_name,
            email=self.email,
            phone=self.phone,
            language=self.language,
            on_duty=self.on_duty,
            active=self.active,
        )

    def public(self, *, with_contact: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "username": self.username,
            "role": self.role,
            "team": self.team,
            "display_name": self.display_name,
            "language": self.language,
            "active": self.active,
            "on_duty": self.on_duty,
        }
        if with_contact:
            out |= {"email": self.email, "phone": self.phone, "created_at": self.created_at}
        return out


class NewStaff(BaseModel):
    """POST /v1/staff."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(pattern=USERNAME, description="lower-case letters, digits, '.', '_' and '-'")
    password: str = Field(min_length=10, max_length=200)
    role: Role
    team: str | None = Field(None, description="required for member and lead")
    display_name: str | None = Field(None, max_length=100)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=30, pattern=r"^\+?[0-9 -]{5,30}$")
    language: Literal["zh-CN", "en"] = "zh-CN"
    on_duty: bool = True


class StaffPatch(BaseModel):
    """PATCH /v1/staff/{username}: only the fields given change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    password: str | None = Field(None, min_length=10, max_length=200)
    role: Role | None = None
    team: str | None = None
    display_name: str | None = Field(None, max_length=100)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=30, pattern=r"^\+?[0-9 -]{5,30}$")
    language: Literal["zh-CN", "en"] | None = None
    active: bool | None = None
    on_duty: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("password", "role", "language", "active", "on_duty"):
                if name in data and data[name] is None:
                    raise ValueError(f"`{name}` cannot be null; leave it out to keep the current value")
        return data


def team_problem(role: str, team: str | None, directory: Directory) -> tuple[str, str] | None:
    if role in ("member", "lead"):
        if team is None:
            return (
                "team",
                f"a {role} belongs to a team; give `team` (one of {', '.join(t.id for t in directory.teams)})",
            )
        if not directory.has(team):
            return "team", f"unknown team {team!r}; one of {', '.join(t.id for t in directory.teams)}"
    elif team is not None:
        return "team", f"a {role} works across teams; leave `team` out"
    return None


class StaffStore(Protocol):
    """The accounts, as the service (who is active), the API and the console (sign-in, admin) use them."""

    async def get(self, username: str) -> StaffAccount | None: ...

    async def list(self, team: str | None = None) -> list[StaffAccount]: ...

    async def active(self) -> tuple[StaffInfo, ...]: ...

    async def create(self, new: NewStaff, now: datetime, *, password_hash: str | None = None) -> StaffAccount | None:
        """None if the username is taken."""
        ...

    async def update(self, username: str, patch: StaffPatch, now: datetime) -> StaffAccount | None: ...


class MongoStaffStore:
    def __init__(self, collection: AsyncCollection[Document], cache_ttl_s: float = CACHE_TTL_S) -> None:
        self.collection = collection
        # Read on every event, changed rarely: kept for a few seconds (services/routing/cache.py).
        self._active = Cached(self._read_active, cache_ttl_s)

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("team")
        await self.collection.create_index([("team", ASCENDING), ("role", ASCENDING)])
        await self.collection.create_index("active")

    async def get(self, username: str) -> StaffAccount | None:
        doc = await self.collection.find_one({"_id": username})
        return StaffAccount.model_validate(doc) if doc else None

    async def list(self, team: str | None = None) -> list[StaffAccount]:
        query = {"team": team} if team else {}
        return [StaffAccount.model_validate(d) async for d in self.collection.find(query).sort("_id", ASCENDING)]

    async def active(self) -> tuple[StaffInfo, ...]:
        return await self._active.get()

    async def _read_active(self) -> tuple[StaffInfo, ...]:
        cursor = self.collection.find({"active": True}, {"password_hash": 0})
        return tuple([StaffAccount.model_validate({**d, "password_hash": ""}).info() async for d in cursor])

    async def create(self, new: NewStaff, now: datetime, *, password_hash: str | None = None) -> StaffAccount | None:
        account = StaffAccount(
            username=new.username,
            password_hash=password_hash or await hash_password(new.password),
            role=new.role,
            team=new.team,
            display_name=new.display_name,
            email=new.email,
            phone=new.phone,
            language=new.language,
            on_duty=new.on_duty,
            created_at=now,
            updated_at=now,
        )
        try:
            await self.collection.insert_one(account.model_dump(by_alias=True))
        except DuplicateKeyError:
            return None
        self._active.invalidate()
        return account

    async def update(self, username: str, patch: StaffPatch, now: datetime) -> StaffAccount | None:
        fields = patch.model_dump(exclude_unset=True, exclude={"password"})
        if patch.password is not None:
            fields["password_hash"] = await hash_password(patch.password)
        fields["updated_at"] = now
        doc = await self.collection.find_one_and_update(
            {"_id": username}, {"$set": fields}, return_document=ReturnDocument.AFTER
        )
        self._active.invalidate()
        return StaffAccount.model_validate(doc) if doc else None

    async def seed_dev(self, directory: Directory, now: datetime) -> int:
        """`<team>.member`, `<team>.lead`, `supervisor`, `admin` — password `dev-password`. Idempotent and safe
        with several replicas starting at once (insert only where absent)."""
        wanted: list[tuple[str, Role, str | None, str]] = [
            ("supervisor", "supervisor", None, "督办员 Supervisor"),
            ("admin", "admin", None, "管理员 Admin"),
        ]
        for t in directory.teams:
            zh, en = t.name.get("zh-CN", t.id), t.name.get("en", t.id)
            wanted.append((f"{t.id}.member", "member", t.id, f"{zh}组员 {en} member"))
            wanted.append((f"{t.id}.lead", "lead", t.id, f"{zh}组长 {en} lead"))
        existing = {d["_id"] async for d in self.collection.find({"_id": {"$in": [w[0] for w in wanted]}}, {"_id": 1})}
        created = 0
        for username, role, team, display in wanted:
            if username in existing:
                continue
            account = StaffAccount(
                username=username,
                password_hash=_dev_hash(),
                role=role,
                team=team,
                display_name=display,
                email=f"{username}@example.org",
                created_at=now,
                updated_at=now,
            )
            try:
                await self.collection.insert_one(account.model_dump(by_alias=True))
                created += 1
            except DuplicateKeyError:
                pass  # another replica seeded it a moment ago
        if created:
            self._active.invalidate()
        return created
