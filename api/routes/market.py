"""Profiles, users, the skills catalog and listings."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import Annotated, Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy import ColumnElement, Float, and_, cast, delete, false, func, insert, or_, select, update

from api.booking import free_index
from api.booking.prices import FeedStale, Unpriceable, usd_rates
from api.booking.service import session_columns, session_of
from api.deps import ClockDep, ConnDep, CurrentSession, SettingsDep, get_chain
from api.models import (
    ERRORS,
    Address,
    ListingCreate,
    ListingCurrency,
    ListingPublic,
    ListingsPublic,
    ListingUpdate,
    ProfilePublic,
    ProfileUpdate,
    SkillSlug,
    UserPublic,
)
from api.pagination import CursorQuery, LimitQuery, cursor_keys, page_of
from api.queries import credentials_of, profile_of, reputation_of
from api.routes.avatars import avatar_url
from api.skills import Skill, catalog
from db.booking import invalidate_free_time, listing_free
from db.chain import reputation
from db.market import avatars, listings, profiles
from skillchain.settings import Settings

router = APIRouter(tags=["marketplace"], responses=ERRORS)


def _known_skills(slugs: list[str]) -> None:
    unknown = [s for s in slugs if s not in catalog()]
    if unknown:
        raise HTTPException(400, f"unknown skill(s): {', '.join(unknown)} (see GET /skills)")


@router.get("/skills", response_model=list[Skill], summary="The skills catalog (id = keccak256(slug))")
def get_skills() -> list[Skill]:
    return list(catalog().values())


@router.get("/me/profile", response_model=ProfilePublic, responses={404: {"description": "no profile yet"}})
def get_my_profile(session: CurrentSession, conn: ConnDep) -> ProfilePublic:
    profile = profile_of(conn=conn, address=session.address)
    if profile is None:
        raise HTTPException(404, "no profile yet: PUT /me/profile creates it")
    return profile


@router.put("/me/profile", response_model=ProfilePublic)
def put_my_profile(body: ProfileUpdate, session: CurrentSession, conn: ConnDep) -> ProfilePublic:
    _known_skills(body.skills)
    values = {
        "display_name": body.display_name,
        "bio": body.bio,
        "skills": json.dumps(body.skills),
        "hourly_rate": body.hourly_rate,
        "languages": json.dumps(body.languages),
        "timezone": body.timezone,
        "avatar_cid": body.avatar_cid,
        "updated_at": int(time.time()),
    }
    conn.execute(delete(profiles).where(profiles.c.address == session.address))
    conn.execute(insert(profiles).values(address=session.address, **values))
    profile = profile_of(conn=conn, address=session.address)
    assert profile is not None
    return profile


@router.get(
    "/users/{address}", response_model=UserPublic, summary="Public profile, on-chain reputation, credentials"
)
def get_user(address: Annotated[Address, Path()], conn: ConnDep, settings: SettingsDep) -> UserPublic:
    chain_id = settings.chain_id
    picture = conn.execute(select(avatars.c.updated_at).where(avatars.c.address == address)).scalar()
    return UserPublic(
        address=address,
        avatar_url=avatar_url(address, picture),
        profile=profile_of(conn=conn, address=address),
        reputation=reputation_of(conn=conn, chain_id=chain_id, address=address),
        credentials=credentials_of(conn=conn, chain_id=chain_id, holder=address),
    )


def _listing(row: dict[str, object], rating: float | None, next_free_at: int | None = None) -> ListingPublic:
    picture = row.get("owner_avatar_at")
    return ListingPublic(
        id=row["id"],
        owner=row["owner"],
        kind=row["kind"],
        skill=row["skill"],
        title=row["title"],
        description=row["description"],
        price=row["price"],
        currency=row["currency"],
        languages=json.loads(str(row["languages"])),
        timezone=row["timezone"],
        active=row["active"],
        owner_rating=rating,
        session=session_of(row),
        next_free_at=next_free_at,
        owner_avatar=avatar_url(str(row["owner"]), int(str(picture))) if picture is not None else None,
        owner_name=str(row["owner_name"]) if row.get("owner_name") is not None else None,
        owner_rating_count=int(str(row.get("owner_rating_count") or 0)),
    )


def _utc_offset(zone: str, at: int) -> timedelta | None:
    try:
        return datetime.fromtimestamp(at, ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _zones_near(conn: ConnDep, zone: str, hours: int, now: int) -> list[str]:
    """The listings' time zones whose offset from UTC is, now, within `hours` of `zone`'s: offsets
    change with daylight saving, so they are compared at `now` over the few distinct zones listed
    (not stored). An unknown zone is 422 in words."""
    mine = _utc_offset(zone, now)
    if mine is None:
        raise HTTPException(422, f"unknown time zone {zone!r}: use an IANA name such as Europe/Berlin")
    listed = conn.execute(
        select(listings.c.timezone)
        .where(listings.c.active.is_(True), listings.c.timezone.is_not(None))
        .distinct()
    ).scalars()
    near = []
    for other in listed:
        offset = _utc_offset(str(other), now)
        if offset is not None and abs(offset - mine) <= timedelta(hours=hours):
            near.append(str(other))
    return near


def _rating_expr() -> ColumnElement[Any]:
    """Average rating as a provider, NULL without reviews."""
    return cast(reputation.c.provider_sum, Float) / func.nullif(reputation.c.provider_count, 0)


@router.post("/listings", response_model=ListingPublic, status_code=201)
def create_listing(body: ListingCreate, session: CurrentSession, conn: ConnDep) -> ListingPublic:
    _known_skills([body.skill])
    now = int(time.time())
    result = conn.execute(
        insert(listings).values(
            owner=session.address,
            kind=body.kind,
            skill=body.skill,
            title=body.title,
            description=body.description,
            price=body.price,
            currency=body.currency,
            languages=json.dumps(body.languages),
            timezone=body.timezone,
            active=True,
            created_at=now,
            updated_at=now,
            **session_columns(body.session),
        )
    )
    (listing_id,) = result.inserted_primary_key  # type: ignore[misc]
    row = conn.execute(select(listings).where(listings.c.id == listing_id)).mappings().one()
    return _listing(dict(row), None)


def _priced_within(
    settings: Settings, now: int, currency: str, low: Decimal | None, high: Decimal | None
) -> ColumnElement[bool]:
    """Listings whose price, in the viewer's `currency` through the feeds, is within [low, high]: the
    bounds converted into each listing currency (Decimals, rounded outwards at the 8th decimal).
    Listings in a currency without a feed are left out; the viewer's currency without one is 409, and
    a stale feed 503, in words."""
    rates = usd_rates(settings, get_chain(settings), now)
    ranges = []
    with localcontext() as ctx:
        ctx.prec = 60
        for code in get_args(ListingCurrency):
            try:
                factor = Decimal(1) if code == currency else rates.usd_per(currency) / rates.usd_per(code)
            except Unpriceable as exc:
                if not rates.has(currency):
                    raise HTTPException(409, f"price_currency: {exc}") from None
                continue  # listings in `code` cannot be compared: left out
            except FeedStale as exc:
                raise HTTPException(503, str(exc), headers={"Retry-After": "60"}) from None
            match = [listings.c.currency == code]
            if low is not None:
                match.append(listings.c.price >= (low * factor).quantize(PLACES, rounding=ROUND_FLOOR))
            if high is not None:
                match.append(listings.c.price <= (high * factor).quantize(PLACES, rounding=ROUND_CEILING))
            ranges.append(and_(*match))
    return or_(*ranges) if ranges else false()


# Bounds keep 8 decimals, rounded outwards: finer than any listing price (2 decimals) in every currency.
PLACES = Decimal("0.00000001")
# A search recomputes at most this many stale free-time entries itself; the index's pass does the rest.
SYNC_REFRESH_LIMIT = 200


@router.get("/listings", response_model=ListingsPublic, summary="Search listings")
def search_listings(
    conn: ConnDep,
    settings: SettingsDep,
    clock: ClockDep,
    skill: SkillSlug | None = None,
    kind: Annotated[str | None, Query(pattern="^(offer|request)$")] = None,
    min_price: Annotated[Decimal | None, Query(ge=0, le=Decimal("1000000"))] = None,
    max_price: Annotated[Decimal | None, Query(ge=0, le=Decimal("1000000"))] = None,
    price_currency: Annotated[
        ListingCurrency | None,
        Query(
            description="the currency min_price and max_price are in; listings priced in another are "
            "compared through the price feeds (default: each listing's own, unconverted)"
        ),
    ] = None,
    language: Annotated[str | None, Query(pattern="^[a-z]{2}$")] = None,
    min_rating: Annotated[float | None, Query(ge=1, le=5)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    owner: Address | None = None,
    near_timezone: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$",
            description="only listings whose time zone is now within `within_hours` of this one (IANA)",
        ),
    ] = None,
    within_hours: Annotated[int, Query(ge=0, le=14, description="with `near_timezone`")] = 3,
    available_days: Annotated[
        int | None,
        Query(
            ge=1,
            le=7,
            description="only session listings with a free slot in the next N days (the free-time index)",
        ),
    ] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> ListingsPublic:
    rating = _rating_expr().label("owner_rating")
    conds: list[ColumnElement[bool]] = [listings.c.active.is_(True)]
    if skill:
        conds.append(listings.c.skill == skill)
    if kind:
        conds.append(listings.c.kind == kind)
    if price_currency is not None and (min_price is not None or max_price is not None):
        conds.append(_priced_within(settings, int(clock()), price_currency, min_price, max_price))
    else:
        if min_price is not None:
            conds.append(listings.c.price >= min_price)
        if max_price is not None:
            conds.append(listings.c.price <= max_price)
    if language:
        conds.append(listings.c.languages.like(f'%"{language}"%'))
    if owner:
        conds.append(listings.c.owner == owner)
    if near_timezone is not None:
        conds.append(listings.c.timezone.in_(_zones_near(conn, near_timezone, within_hours, int(clock()))))
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(
            listings.c.title.ilike(pattern, escape="\\") | listings.c.description.ilike(pattern, escape="\\")
        )
    joined = listings.outerjoin(
        reputation, (reputation.c.subject == listings.c.owner) & (reputation.c.chain_id == settings.chain_id)
    ).outerjoin(avatars, avatars.c.address == listings.c.owner)
    joined = joined.outerjoin(profiles, profiles.c.address == listings.c.owner)
    columns: list[Any] = [
        listings,
        rating,
        avatars.c.updated_at.label("owner_avatar_at"),
        profiles.c.display_name.label("owner_name"),
        reputation.c.provider_count.label("owner_rating_count"),
    ]
    if available_days is not None:
        now = int(clock())
        # Exact entries first: what is stale among these candidates is recomputed now (the index's pass
        # keeps the rest fresh, so this is usually nothing).
        free_index.refresh(conn, free_index.stale(conn, and_(*conds), now, SYNC_REFRESH_LIMIT), now)
        conds.append(free_index.free_within(now, available_days * 86400))
        joined = joined.join(listing_free, listing_free.c.listing_id == listings.c.id)
        columns.append(listing_free.c.next_free_at)
    if min_rating is not None:  # after the index's candidates: it needs the reputation join
        conds.append(_rating_expr() >= min_rating)
    query = select(*columns).select_from(joined).where(*conds)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    before = cursor_keys(cursor, 1)
    if before:
        query = query.where(listings.c.id < before[0])
    rows = conn.execute(query.order_by(listings.c.id.desc()).limit(limit + 1)).mappings().all()
    items = [
        _listing(
            dict(r),
            round(r["owner_rating"], 3) if r["owner_rating"] is not None else None,
            r.get("next_free_at"),
        )
        for r in rows
    ]
    data, next_cursor = page_of(items, limit, lambda r: (r.id,))
    return ListingsPublic(data=data, next_cursor=next_cursor, total=int(total))


@router.get(
    "/me/listings", response_model=ListingsPublic, summary="Your listings, paused ones too, newest first"
)
def my_listings(
    session: CurrentSession, conn: ConnDep, limit: LimitQuery = 20, cursor: CursorQuery = None
) -> ListingsPublic:
    """What the mentor desk edits: GET /listings shows only active listings, so a paused one would
    vanish from its owner's view with no way to resume it."""
    query = (
        select(listings, avatars.c.updated_at.label("owner_avatar_at"))
        .select_from(listings.outerjoin(avatars, avatars.c.address == listings.c.owner))
        .where(listings.c.owner == session.address)
    )
    total = conn.execute(
        select(func.count()).select_from(listings).where(listings.c.owner == session.address)
    ).scalar_one()
    before = cursor_keys(cursor, 1)
    if before:
        query = query.where(listings.c.id < before[0])
    rows = conn.execute(query.order_by(listings.c.id.desc()).limit(limit + 1)).mappings().all()
    data, next_cursor = page_of([_listing(dict(r), None) for r in rows], limit, lambda r: (r.id,))
    return ListingsPublic(data=data, next_cursor=next_cursor, total=int(total))


@router.get(
    "/listings/{listing_id}", response_model=ListingPublic, responses={404: {"description": "unknown"}}
)
def get_listing(listing_id: Annotated[int, Path(ge=1, lt=2**31)], conn: ConnDep) -> ListingPublic:
    row = (
        conn.execute(
            select(listings, avatars.c.updated_at.label("owner_avatar_at"))
            .select_from(listings.outerjoin(avatars, avatars.c.address == listings.c.owner))
            .where(listings.c.id == listing_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise HTTPException(404, "no such listing")
    return _listing(dict(row), None)


def _owned(conn: ConnDep, listing_id: int, owner: str) -> None:
    row = conn.execute(select(listings.c.owner).where(listings.c.id == listing_id)).first()
    if row is None:
        raise HTTPException(404, "no such listing")
    if row.owner != owner:
        raise HTTPException(403, "only the listing's owner may change it")


@router.patch("/listings/{listing_id}", response_model=ListingPublic, responses={403: {}, 404: {}})
def update_listing(
    listing_id: Annotated[int, Path(ge=1, lt=2**31)],
    body: ListingUpdate,
    session: CurrentSession,
    conn: ConnDep,
) -> ListingPublic:
    _owned(conn, listing_id, session.address)
    values: dict[str, object] = {
        k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None
    }
    if "languages" in values:
        values["languages"] = json.dumps(values["languages"])
    if "session" in values:
        values.pop("session")
        values.update(session_columns(body.session))
    values["updated_at"] = int(time.time())
    conn.execute(update(listings).where(listings.c.id == listing_id).values(**values))
    invalidate_free_time(conn, session.address)  # its session terms or active flag may have changed
    return get_listing(listing_id, conn)


@router.delete("/listings/{listing_id}", status_code=204, responses={403: {}, 404: {}})
def delete_listing(
    listing_id: Annotated[int, Path(ge=1, lt=2**31)], session: CurrentSession, conn: ConnDep
) -> None:
    _owned(conn, listing_id, session.address)
    conn.execute(delete(listings).where(listings.c.id == listing_id))
    conn.execute(delete(listing_free).where(listing_free.c.listing_id == listing_id))
