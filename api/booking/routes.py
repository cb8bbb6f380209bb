"""Availability and slots over HTTP: a mentor publishes weekly hours in their time zone; anyone
reads a listing's bookable slots in their own."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import and_, delete, func, insert, or_, select, update

from api.booking import calendar, changes
from api.booking.holds import (
    ETH,
    SlotInvalid,
    SlotTaken,
    hold,
    listing_slots,
    mine,
    state_of,
)
from api.booking.prices import FeedStale, PayIn, Price, Unpriceable, price_of, usd_rates
from api.booking.schemas import (
    AvailabilityIn,
    AvailabilityPublic,
    BookingCardIn,
    BookingCreated,
    BookingIn,
    BookingPublic,
    BookingsPublic,
    ListingPrice,
    ListingPrices,
    PayOption,
    QuotePublic,
    ReschedulePublic,
    SlotPublic,
    SlotsPublic,
    StandingOfferIn,
    StandingOfferPublic,
    _zone,
)
from api.booking.service import (
    NotBookable,
    load_availability,
    load_availability_public,
    save_availability,
    session_of,
)
from api.deps import (
    ChainDep,
    ClockDep,
    ConnDep,
    CurrentSession,
    DocumentQuota,
    SettingsDep,
    StoreDep,
    neutral_arbiter,
    stablecoin_of,
)
from api.documents import digest_hex, store_document
from api.models import ERRORS, Address, EngagementsPublic
from api.offers import service as offers_service
from api.offers.schemas import OfferFields
from api.pagination import CursorQuery, LimitQuery, cursor_keys, page_of
from api.payments.routes import CheckoutPublic, card_charge, open_checkout
from api.queries import engagements_page
from api.routes.wallet import chain_tokens, fee_bps, read_decimals
from booking.slots import iso
from chain.offers import ZERO_ADDRESS
from db.booking import bookings, calendar_feeds, listing_offers
from db.chain import engagements
from db.market import listings
from db.payments import payment_quotes
from ipfs import metadata as md
from ipfs.cid import digest_to_cid

router = APIRouter(tags=["booking"], responses=ERRORS)
MAX_RANGE_DAYS = 62


@router.put("/me/availability", response_model=AvailabilityPublic, summary="Publish your weekly hours")
def put_availability(
    body: AvailabilityIn, session: CurrentSession, conn: ConnDep, clock: ClockDep
) -> AvailabilityPublic:
    return save_availability(conn, session.address, body, int(clock()))


@router.get(
    "/users/{address}/availability",
    response_model=AvailabilityPublic,
    summary="A mentor's weekly hours, exceptions and daily cap",
    responses={404: {}},
)
def get_availability(address: Address, conn: ConnDep) -> AvailabilityPublic:
    found = load_availability_public(conn, address)
    if found is None:
        raise HTTPException(404, f"{address} has not published availability")
    return found


def _active_listing(conn: Any, listing_id: int) -> dict[str, Any]:
    row = conn.execute(select(listings).where(listings.c.id == listing_id)).mappings().first()
    if row is None or not row["active"]:
        raise HTTPException(404, "no such listing")
    return dict(row)


def _instant(text: str, zone: ZoneInfo, field: str) -> int:
    """Unix seconds, an ISO date (its midnight in `zone`) or date-time (in `zone` without an offset)."""
    if text.isdigit() and len(text) <= 11:
        return int(text)
    try:
        if len(text) == 10:
            return int(datetime.combine(date.fromisoformat(text), datetime.min.time(), zone).timestamp())
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            422, f"{field}: an ISO 8601 date or date-time, e.g. 2026-06-01 or 2026-06-01T09:00+02:00"
        ) from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp())


@router.get(
    "/listings/{listing_id}/slots",
    response_model=SlotsPublic,
    summary="Bookable slots of a listing, in your time zone",
    responses={404: {}, 409: {}},
)
def get_slots(
    listing_id: Annotated[int, Path(ge=1, lt=2**31)],
    conn: ConnDep,
    clock: ClockDep,
    start: Annotated[
        str | None, Query(alias="from", max_length=40, description="ISO date or date-time (default: now)")
    ] = None,
    end: Annotated[
        str | None,
        Query(
            alias="to",
            max_length=40,
            description=f"ISO date or date-time (default: 7 days on; at most {MAX_RANGE_DAYS})",
        ),
    ] = None,
    tz: Annotated[
        str | None, Query(max_length=64, description="IANA zone to write times in (default: the mentor's)")
    ] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> SlotsPublic:
    row = _active_listing(conn, listing_id)
    if tz is not None:
        try:
            _zone(tz)
        except ValueError as exc:
            raise HTTPException(422, f"tz: {exc}") from None
    now = int(clock())
    viewer = ZoneInfo(tz or "UTC")
    lo = _instant(start, viewer, "from") if start else now
    hi = _instant(end, viewer, "to") if end else lo + 7 * 86400
    if hi <= lo:
        raise HTTPException(422, "to must be after from")
    if hi - lo > MAX_RANGE_DAYS * 86400:
        raise HTTPException(422, f"ask for at most {MAX_RANGE_DAYS} days at a time")
    if cursor is not None:
        lo = max(lo, int(cursor.split(".")[0]) + 1)  # after the last slot of the previous page
    try:
        starts, mentor, session = listing_slots(conn, row, start=lo, end=hi, now=now)
    except NotBookable as exc:
        raise HTTPException(409, str(exc)) from None
    zone = tz or (mentor.timezone if mentor else "UTC")
    length = session.duration_minutes * 60
    page = starts[:limit]
    return SlotsPublic(
        data=[
            SlotPublic(start=iso(s, zone), end=iso(s + length, zone), starts_at=s, ends_at=s + length)
            for s in page
        ],
        next_cursor=str(page[-1]) if len(starts) > limit else None,
        total=len(starts) if cursor is None else None,
        timezone=zone,
        mentor_timezone=mentor.timezone if mentor else None,
        cancellation=changes.policy_words(session),
    )


BookingId = Annotated[str, Path(pattern=r"^0x[0-9a-f]{64}$")]


def _own_booking(conn: Any, booking_id: str, address: str) -> Any:
    """The booking if `address` is its learner or mentor; 404 otherwise (no one else learns it exists)."""
    row = conn.execute(select(bookings).where(bookings.c.id == booking_id)).mappings().first()
    if row is None or address not in (row["learner"], row["mentor"]):
        raise HTTPException(404, "no such booking of yours")
    return row


def _engagement_id(conn: Any, row: dict[str, Any]) -> int | None:
    """The engagement funding the booking (an instant booking by its bookingRef, a request by its
    terms), if indexed and of the booking's two parties."""
    key = (
        engagements.c.booking_ref == row["id"]
        if row["mode"] == "instant"
        else engagements.c.terms_digest == row["terms_digest"]
    )
    found = conn.execute(
        select(engagements.c.id)
        .where(key, engagements.c.client == row["learner"], engagements.c.provider == row["mentor"])
        .order_by(engagements.c.status.in_(("withdrawn", "declined")), engagements.c.id)
    ).scalar()
    return int(found) if found is not None else None


def _public(conn: Any, row: Any, now: int) -> BookingPublic:
    r = dict(row)
    proposal = changes.open_proposal(conn, r["id"], now)
    listing = conn.execute(select(listings).where(listings.c.id == r["listing_id"])).mappings().first()
    offering = session_of(dict(listing)) if listing is not None else None
    return BookingPublic(
        id=r["id"],
        listing_id=r["listing_id"],
        mentor=r["mentor"],
        learner=r["learner"],
        starts_at=r["starts_at"],
        ends_at=r["ends_at"],
        mode=r["mode"],
        state=state_of(conn, r, now),
        hold_expires_at=r["hold_expires_at"],
        respond_by=r.get("respond_by"),
        engagement_id=_engagement_id(conn, r),
        due_date=r["due_date"],
        amount=str(r["amount"]),
        token=r["token"],
        sequence=int(r.get("sequence") or 0),
        reschedule=ReschedulePublic(**proposal) if proposal is not None else None,
        free_cancel_until=changes.free_until(r, offering),
        cancel_requested_at=r.get("cancel_requested_at"),
    )


@router.post(
    "/bookings",
    response_model=BookingCreated,
    status_code=201,
    summary="Hold a slot and get the transaction that books it",
    responses={404: {}, 409: {}, 422: {}, 503: {}},
    dependencies=[DocumentQuota],
)
def create_booking(
    body: BookingIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
    settings: SettingsDep,
    chain: ChainDep,
    store: StoreDep,
) -> BookingCreated:
    """Holds the slot for SKILLCHAIN_BOOKING_HOLD_MINUTES (10) while the learner's wallet funds the
    request; the mentor then accepts it on-chain. Two learners racing for one slot: one 201, one 409."""
    listing = _active_listing(conn, body.listing_id)
    offering = session_of(listing)
    if offering is None:
        raise HTTPException(409, f"listing {body.listing_id} is custom work: propose an engagement instead")
    payments = request.app.state.payments
    now = int(clock())
    tokens = {t.address.lower(): t for t in chain_tokens(chain, settings.effective_rpc_url)}
    booking_id = "0x" + os.urandom(32).hex()
    end = body.starts_at + offering.duration_minutes * 60
    when = f"{iso(body.starts_at, 'UTC')[:16].replace('T', ' ')} UTC"
    if offering.booking == "instant":
        # The mentor's standing offer fixes the amount and token; the engagement names this booking
        # by its bookingRef (the offer's terms are shared by every session it funds).
        standing = conn.execute(
            select(listing_offers).where(listing_offers.c.listing_id == listing["id"])
        ).first()
        if standing is None or standing.valid_until <= now:
            raise HTTPException(
                409,
                "the mentor has not signed this listing's standing offer yet (or it expired): ask them to",
            )
        offer = offers_service.to_offer(OfferFields.model_validate_json(standing.offer))
        meta = tokens.get(offer.token.lower())
        paid_in_eth = int(offer.token, 16) == 0
        if body.pay_in is not None and (body.pay_in == "ETH") != paid_in_eth:
            signed_in = "ETH" if paid_in_eth else (meta.symbol if meta else offer.token)
            raise HTTPException(
                409,
                f"this listing books instantly at the mentor's signed price in {signed_in}: leave pay_in "
                "out, or ask the mentor for a request-to-book listing",
            )
        price = Price(offer.token, offer.amounts[0], meta.symbol if meta else "token")
        digest = booking_id
        terms: md.EngagementTerms | None = None
    else:
        stable = stablecoin_of(settings, chain)
        try:
            price = price_of(
                listing,
                usd_rates(settings, chain, now),
                stablecoin=stable,
                stablecoin_decimals=read_decimals(stable, settings.effective_rpc_url) if stable else None,
                pay_in=body.pay_in,
            )
        except Unpriceable as exc:
            raise HTTPException(409, str(exc)) from None
        except FeedStale as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "60"}) from None
        terms = md.EngagementTerms(
            title=f"{listing['title']} — session",
            # The booking's id is the terms' nonce; its times stay off IPFS with the rest of the calendar.
            description=f"One {offering.duration_minutes}-minute session.",
            skill=listing["skill"],
            client=session.address,
            provider=listing["owner"],
            milestones=[md.MilestoneTerms(title="Session", description="")],
            nonce=booking_id,
        )
        digest = digest_hex(terms)
    try:
        row = hold(
            conn,
            listing,
            load_availability(conn, listing["owner"]),
            booking_id=booking_id,
            learner=session.address,
            starts_at=body.starts_at,
            now=now,
            hold_seconds=settings.booking_hold_minutes * 60,
            respond_seconds=settings.booking_respond_hours * 3600,
            grace_seconds=settings.reschedule_grace_days * 86400,
            price=price,
            terms_digest=digest,
        )
    except SlotInvalid as exc:
        raise HTTPException(422, str(exc)) from None
    except SlotTaken as exc:
        raise HTTPException(409, str(exc), headers={"Retry-After": "0"}) from None
    if terms is None:
        signature = bytes.fromhex(standing.signature[2:])  # type: ignore[union-attr]
        tx = chain.builder.build(
            "SkillEscrow",
            "createEngagementWithOffer",
            offers_service.fund_args(offer, signature, body.starts_at, booking_id, row["hold_expires_at"]),
            value=price.amount if price.token == ETH else 0,
            description=f"Book '{listing['title']}' on {when} (instant: the mentor's standing offer)",
            sender=session.address,
            assume_allowance=None if price.token == ETH else price.token,
        )
        cid = digest_to_cid(offer.termsDigest)
    else:
        arbiter = neutral_arbiter(settings, chain, None, (session.address, listing["owner"]))
        due = end + settings.reschedule_grace_days * 86400
        tx = chain.builder.build(
            "SkillEscrow",
            "createEngagement",
            [listing["owner"], price.token, [price.amount], [due], 86400, arbiter, digest],
            value=price.amount if price.token == ETH else 0,
            description=f"Book '{listing['title']}' on {when}",
            sender=session.address,
            assume_allowance=None if price.token == ETH else price.token,
        )  # a refusal raises here: the request's transaction rolls the hold back
        cid, _ = store_document(store, terms, conn=conn, kind="terms")
    approval = (
        None
        if price.token == ETH
        else chain.builder.approval(price.token, session.address, "SkillEscrow", price.amount)
    )
    meta = tokens.get(price.token.lower())
    return BookingCreated(
        booking=_public(conn, row, now),
        quote=QuotePublic(
            token=price.token,
            symbol=meta.symbol if meta else price.symbol,
            amount=str(price.amount),
            fee_bps=fee_bps(conn, chain),
            expires_at=row["hold_expires_at"],
            card_methods=payments.methods_for(str(listing["currency"])) if payments else [],
            cancellation=changes.policy_words(offering),
        ),
        tx=tx,
        approval=approval,
        document_cid=cid,
    )


# Stripe wants a Checkout Session to live at least 30 minutes from its creation: 31, and the hold as long.
CARD_PAGE_SECONDS = 31 * 60


@router.post(
    "/bookings/{booking_id}/card",
    response_model=CheckoutPublic,
    responses={403: {}, 404: {}, 409: {}, 503: {}},
    summary="Pay a held booking by card: the hold then lasts as long as the provider's page (30 minutes)",
    description="The relayer funds the request with the booking's terms once the card is paid; a payment "
    "that arrives after the hold lapsed (or after the booking was paid from a wallet) is refunded in full. "
    "When the hold lapses unpaid the page is closed through the provider's API.",
)
def pay_booking_by_card(
    booking_id: BookingId,
    body: BookingCardIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
    settings: SettingsDep,
    chain: ChainDep,
) -> CheckoutPublic:
    payments = request.app.state.payments
    if payments is None or body.method not in payments.providers:
        raise HTTPException(503, f"{body.method} payments are not configured on this server")
    row = _own_booking(conn, booking_id, session.address)
    if row["learner"] != session.address:
        raise HTTPException(403, "only the learner pays for a booking")
    now = int(clock())
    state = state_of(conn, dict(row), now)
    if state != "held":
        raise HTTPException(409, f"this booking is {state}: only a held booking can be paid")
    if row["mode"] != "request":
        raise HTTPException(409, "an instant booking is paid from the wallet, at the mentor's signed price")
    stable = stablecoin_of(settings, chain)
    if stable is None or row["token"].lower() != stable.lower():
        raise HTTPException(
            409,
            "this booking is priced in ETH: card payments fund the stablecoin (book with pay_in=stablecoin)",
        )
    open_quote = conn.execute(
        select(payment_quotes.c.id).where(
            payment_quotes.c.booking_id == booking_id,
            # Any page that may still be paid (an asynchronous payment on its way, a Razorpay link
            # after a failed attempt): one card payment per booking.
            payment_quotes.c.status.in_(("quoted", "checkout", "awaiting", "failed", "paid")),
        )
    ).first()
    if open_quote is not None:
        raise HTTPException(409, "a card checkout for this booking is open already: finish or let it lapse")
    currency, minor = card_charge(body.method, stable, int(row["amount"]), settings, chain, now)
    arbiter = neutral_arbiter(settings, chain, None, (row["learner"], row["mentor"]))
    page = open_checkout(
        payments,
        method=body.method,
        client=row["learner"],
        provider=row["mentor"],
        arbiter=arbiter,
        token=row["token"],
        amounts=[int(row["amount"])],
        due_dates=[int(row["due_date"])],
        review_window=86400,
        terms_digest=row["terms_digest"],
        amount_minor=minor,
        currency=currency,
        ttl=CARD_PAGE_SECONDS,
        booking_id=booking_id,
    )
    conn.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, bookings.c.status == "held")
        .values(hold_expires_at=max(int(row["hold_expires_at"]), page.expires_at))
    )
    return page


@router.get("/bookings/{booking_id}", response_model=BookingPublic, responses={404: {}})
def get_booking(
    booking_id: BookingId,
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
) -> BookingPublic:
    row = _own_booking(conn, booking_id, session.address)
    return _public(conn, row, int(clock()))


@router.get("/me/bookings", response_model=BookingsPublic, summary="Your bookings, as learner or mentor")
def my_bookings(
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> BookingsPublic:
    after = cursor_keys(cursor, 1)
    query = mine(conn, session.address).order_by(bookings.c.starts_at, bookings.c.id)
    if after is not None:
        query = query.where(bookings.c.starts_at > after[0])
    rows = conn.execute(query.limit(limit + 1)).mappings().all()
    page, next_cursor = page_of(list(rows), limit, key=lambda r: (r["starts_at"],))
    now = int(clock())
    total = conn.execute(
        select(func.count()).select_from(mine(conn, session.address).subquery())
    ).scalar_one()
    return BookingsPublic(data=[_public(conn, r, now) for r in page], next_cursor=next_cursor, total=total)


@router.put(
    "/listings/{listing_id}/standing-offer",
    response_model=StandingOfferPublic,
    summary="Publish the signed offer an instant-booking listing is booked from",
    responses={400: {}, 403: {}, 404: {}},
)
def put_standing_offer(
    listing_id: Annotated[int, Path(ge=1, lt=2**31)],
    body: StandingOfferIn,
    request: Request,
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    clock: ClockDep,
) -> StandingOfferPublic:
    """The offer must be the listing owner's, for any learner, a session of the listing's length,
    with a minimum notice and horizon no stricter than the listing's, several uses, and signed."""
    row = conn.execute(select(listings).where(listings.c.id == listing_id)).mappings().first()
    if row is None:
        raise HTTPException(404, "no such listing")
    if row["owner"] != session.address:
        raise HTTPException(403, "only the listing's owner publishes its offer")
    terms = session_of(dict(row))
    offer = offers_service.to_offer(body.offer)
    try:
        offers_service.check_shape(offer)
    except offers_service.OfferInvalid as exc:
        raise HTTPException(400, str(exc)) from None
    now = int(clock())
    problems = [
        (terms is None, "this listing is custom work, not sessions"),
        (offer.provider != session.address, "the offer is another wallet's"),
        (offer.client != ZERO_ADDRESS, "a standing offer is for any learner (client = the zero address)"),
        (
            terms is not None and offer.sessionLength != terms.duration_minutes * 60,
            "its session length is not the listing's",
        ),
        (
            terms is not None and offer.minNotice > terms.notice_minutes * 60,
            "its minimum notice is longer than the listing's",
        ),
        (
            terms is not None and 0 < offer.horizon < terms.horizon_days * 86400,
            "its horizon is shorter than the listing's",
        ),
        (offer.validUntil <= now, "it has expired"),
    ]
    for failed, why in problems:
        if failed:
            raise HTTPException(400, f"this offer cannot back the listing: {why}")
    escrow = chain.builder.address("SkillEscrow")
    signature = bytes.fromhex(body.signature[2:])
    if not offers_service.signed_by_provider(
        chain.chain_id, escrow, offer, signature, request.app.state.eip1271
    ):
        raise HTTPException(400, "the signature is not the provider's over this offer")
    conn.execute(delete(listing_offers).where(listing_offers.c.listing_id == listing_id))
    conn.execute(
        insert(listing_offers).values(
            listing_id=listing_id,
            provider=session.address,
            offer=body.offer.model_dump_json(),
            signature=body.signature,
            nonce=str(offer.nonce),
            valid_until=offer.validUntil,
            created_at=now,
            listing_price=str(row["price"]),
            listing_currency=str(row["currency"]),
        )
    )
    return StandingOfferPublic(
        listing_id=listing_id,
        offer=body.offer,
        valid_until=offer.validUntil,
        signed_for_price=str(row["price"]),
        signed_for_currency=str(row["currency"]),
        matches_listing=True,
    )


@router.get(
    "/listings/{listing_id}/standing-offer",
    response_model=StandingOfferPublic,
    summary="The signed offer an instant-booking listing is booked from",
    responses={404: {}},
)
def get_standing_offer(
    listing_id: Annotated[int, Path(ge=1, lt=2**31)], conn: ConnDep
) -> StandingOfferPublic:
    row = conn.execute(select(listing_offers).where(listing_offers.c.listing_id == listing_id)).first()
    if row is None:
        raise HTTPException(404, "this listing has no standing offer")
    listing = conn.execute(
        select(listings.c.price, listings.c.currency).where(listings.c.id == listing_id)
    ).first()
    return StandingOfferPublic(
        listing_id=listing_id,
        offer=OfferFields.model_validate_json(row.offer),
        valid_until=row.valid_until,
        signed_for_price=row.listing_price,
        signed_for_currency=row.listing_currency,
        # Offers signed before the price was recorded count as matching: nothing says otherwise.
        matches_listing=listing is None
        or row.listing_price is None
        or (
            Decimal(row.listing_price) == Decimal(str(listing.price))
            and row.listing_currency == listing.currency
        ),
    )


@router.get(
    "/prices",
    response_model=ListingPrices,
    summary="What listings cost in the tokens you can pay with (ETH, the stablecoin, a signed offer)",
    description="For each listing (up to 50 `listing` ids): its price in its own currency and what a wallet "
    "would pay, converted through the on-chain price feeds; an instant-booking listing pays its standing "
    "offer's signed amount. A stale feed leaves its conversion out and says why (`note`), never a 503: a "
    "display goes on without it.",
    responses={422: {}},
)
def listing_prices(
    conn: ConnDep,
    clock: ClockDep,
    settings: SettingsDep,
    chain: ChainDep,
    listing: Annotated[list[int], Query(min_length=1, max_length=50, description="listing ids")],
) -> ListingPrices:
    if any(not 1 <= i < 2**31 for i in listing):
        raise HTTPException(422, "listing ids are positive integers")
    now = int(clock())
    found = {
        r["id"]: dict(r)
        for r in conn.execute(select(listings).where(listings.c.id.in_(sorted(set(listing))))).mappings()
    }
    standing = {
        r.listing_id: r
        for r in conn.execute(select(listing_offers).where(listing_offers.c.listing_id.in_(sorted(found))))
    }
    tokens = {t.address.lower(): t for t in chain_tokens(chain, settings.effective_rpc_url)}
    stable = stablecoin_of(settings, chain)
    decimals = read_decimals(stable, settings.effective_rpc_url) if stable else None
    rates = usd_rates(settings, chain, now)  # each feed read once for the whole list

    def option(token: str, amount: int) -> list[PayOption]:
        """The amount in `token`, or nothing when the token's decimals cannot be read now."""
        meta = tokens.get(token.lower())
        eth = int(token, 16) == 0
        places = 18 if eth else read_decimals(token, settings.effective_rpc_url)
        if places is None:
            return []
        symbol = "ETH" if eth else (meta.symbol if meta else "token")
        return [PayOption(token=token, symbol=symbol, decimals=places, amount=str(amount))]

    out = []
    for i in listing:
        row = found.get(i)
        if row is None:
            continue
        converted, notes = [], []
        choices: tuple[PayIn, ...] = ("ETH", "stablecoin")
        for choice in choices:
            try:
                p = price_of(row, rates, stablecoin=stable, stablecoin_decimals=decimals, pay_in=choice)
            except Unpriceable:
                continue
            except FeedStale as exc:
                notes.append(str(exc))
                continue
            converted += option(p.token, p.amount)
        offering = session_of(row)
        instant = offering is not None and offering.booking == "instant"
        pays = converted
        if instant:
            signed = standing.get(i)
            pays = []
            if signed is not None and signed.valid_until > now:
                fields = offers_service.to_offer(OfferFields.model_validate_json(signed.offer))
                pays = option(fields.token, fields.amounts[0])
            else:
                notes.insert(0, "the mentor has not signed this listing's standing offer yet")
        out.append(
            ListingPrice(
                listing_id=i,
                price=str(row["price"]),
                currency=row["currency"],
                pays=pays,
                fixed=instant,
                converted=converted,
                note="; ".join(dict.fromkeys(notes)) or None,
            )
        )
    return ListingPrices(data=out)


class CalendarFeedPublic(BaseModel):
    url: str = Field(description="private: anyone with it sees your sessions; rotate or revoke it at will")


def _title(conn: Any, listing_id: int) -> str:
    found = conn.execute(select(listings.c.title).where(listings.c.id == listing_id)).scalar()
    return f"Skillchain: {found}" if found else "Skillchain session"


@router.get(
    "/bookings/{booking_id}/invite.ics",
    summary="The booking as an iCalendar invite (METHOD:CANCEL once it will not happen)",
    responses={200: {"content": {"text/calendar": {}}}, 404: {}},
    response_class=Response,
)
def booking_invite(
    booking_id: BookingId,
    session: CurrentSession,
    conn: ConnDep,
    clock: ClockDep,
) -> Response:
    row = _own_booking(conn, booking_id, session.address)
    now = int(clock())
    body = calendar.invite(dict(row), state_of(conn, dict(row), now), _title(conn, row["listing_id"]), now)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=session.ics"},
    )


@router.post(
    "/me/calendar-feed",
    response_model=CalendarFeedPublic,
    summary="Create (or rotate) your private calendar feed; the previous URL stops working",
)
def rotate_calendar_feed(
    session: CurrentSession, conn: ConnDep, settings: SettingsDep, clock: ClockDep
) -> CalendarFeedPublic:
    token = secrets.token_urlsafe(24)
    conn.execute(delete(calendar_feeds).where(calendar_feeds.c.address == session.address))
    conn.execute(
        insert(calendar_feeds).values(
            address=session.address, token_hash=_hash(token), created_at=int(clock())
        )
    )
    return CalendarFeedPublic(url=f"{settings.effective_public_url}/calendar/{token}.ics")


@router.delete("/me/calendar-feed", status_code=204, summary="Revoke your calendar feed")
def revoke_calendar_feed(session: CurrentSession, conn: ConnDep) -> None:
    conn.execute(delete(calendar_feeds).where(calendar_feeds.c.address == session.address))


@router.get(
    "/calendar/{token}.ics",
    summary="A private calendar feed of upcoming sessions (subscribe to it from any calendar app)",
    responses={200: {"content": {"text/calendar": {}}}, 404: {}},
    response_class=Response,
)
def calendar_feed(
    token: Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    conn: ConnDep,
    clock: ClockDep,
) -> Response:
    owner = conn.execute(
        select(calendar_feeds.c.address).where(calendar_feeds.c.token_hash == _hash(token))
    ).scalar()
    if owner is None:
        raise HTTPException(404, "no such calendar feed (it may have been revoked)")
    now = int(clock())
    rows = conn.execute(
        mine(conn, owner)
        .where(bookings.c.ends_at > now - 7 * 86400)
        .order_by(bookings.c.starts_at)
        .limit(500)
    ).mappings()
    entries = []
    for row in rows:
        state = state_of(conn, dict(row), now)
        # Funded sessions, and those that were funded and will not happen now (shown cancelled);
        # holds that lapsed unpaid never reached anyone's calendar.
        if state in ("requested", "confirmed", "completed", "withdrawn", "declined"):
            entries.append((dict(row), state, _title(conn, row["listing_id"])))
    return Response(calendar.feed(entries, now, owner), media_type="text/calendar; charset=utf-8")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@router.get(
    "/me/outside-bookings",
    response_model=EngagementsPublic,
    summary="Sessions booked on-chain outside the app (from your standing offers, or requests accepted "
    "after their respond-by time freed the slot): keep or decline",
)
def outside_bookings(
    session: CurrentSession,
    conn: ConnDep,
    chain: ChainDep,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> EngagementsPublic:
    """The contract cannot see your calendar: anyone holding a standing offer may fund a session at a
    time the app never held. Those engagements (from your offers, with no booking of the app behind
    them) are listed here; so are requests accepted on-chain after their respond-by time, when the app
    had already freed the slot (it may be someone else's now). Keep them, or decline with
    POST /engagements/{id}/cancel (a full refund)."""
    nonces = select(listing_offers.c.nonce).where(listing_offers.c.provider == session.address)
    mine_offers = [int(n) for n in conn.execute(nonces).scalars()]
    from_offers = and_(
        engagements.c.offer_nonce.in_(mine_offers),
        or_(engagements.c.booking_ref.is_(None), ~engagements.c.booking_ref.in_(select(bookings.c.id))),
    )
    freed = select(bookings.c.terms_digest).where(
        bookings.c.mentor == session.address, ~bookings.c.active, bookings.c.respond_by.is_not(None)
    )
    accepted_late = and_(engagements.c.accepted, engagements.c.terms_digest.in_(freed))
    clause = and_(
        engagements.c.provider == session.address,
        engagements.c.status == "active",
        or_(from_offers, accepted_late),
    )
    return engagements_page(conn=conn, chain_id=chain.chain_id, clause=clause, limit=limit, cursor=cursor)
