"""Requests filed from a care visit (routing's `care.visit_recorded` with a `filing`): taken like a grid
worker's filing on the household's behalf, through the one submission path (domain/submission.py).

The channel is `care` (a grid-worker kind of channel: `on_behalf`, the staff member who recorded the visit is
`filed_by`); the visit id is the Idempotency-Key, so a redelivered event replays the first answer and files
nothing twice. The staff member was with the household: a text that sounds like an emergency is filed as
confirmed "not an emergency" where the rule allows it (they call 110/119/120 themselves, as the visit form
says); a rule that cannot be overridden, an unknown kind or a refused field is dead-lettered with the reason.
"""

from __future__ import annotations

import structlog

from services.intake.domain.catalogue import Catalogue
from services.intake.domain.channels import Channel
from services.intake.domain.emergency import EmergencySuspected, EmergencyTriage
from services.intake.domain.submission import Draft, DraftRefused, UnknownService, fingerprint, take
from services.intake.service import Busy, IntakeService
from shared.bus import Poison, RetryLater
from shared.events import Envelope, EventData
from shared.events.care import CARE_CHANNEL, CareVisitRecorded

log = structlog.get_logger("huiying.intake")
CARE = Channel(id=CARE_CHANNEL, kind="grid_worker")


class CareFilingHandler:
    def __init__(self, service: IntakeService, catalogue: Catalogue, emergency: EmergencyTriage) -> None:
        self.service, self.catalogue, self.emergency = service, catalogue, emergency

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if not isinstance(data, CareVisitRecorded):
            raise Poison(f"{envelope.type} is not a care visit")
        filing = data.filing
        if filing is None:
            return  # a visit without a request to file
        r = filing.resident
        draft = Draft(
            door="v1",
            channel=CARE,
            service_code=filing.service_code,
            description=filing.description,
            location=filing.location,
            name=r.name,
            phone=r.phone,
            email=r.email,
            language=r.language,
            preferred_channel=r.preferred_channel,
            vulnerability=tuple(r.vulnerability),
            filed_by=filing.filed_by,
            idempotency_key=filing.filing_id,
            fingerprint=fingerprint("care", filing.model_dump(mode="json")),
            confirm_not_emergency=True,
        )
        try:
            command = take(draft, self.catalogue, self.emergency)
            submitted = await self.service.submit(command)
        except UnknownService as exc:
            raise Poison(f"care filing {filing.filing_id}: unknown service_code {exc.code!r}") from exc
        except DraftRefused as exc:
            raise Poison(f"care filing {filing.filing_id}: {exc}") from exc
        except EmergencySuspected as exc:
            raise Poison(f"care filing {filing.filing_id}: an emergency ({exc.decision.rule}); call for help") from exc
        except Busy as exc:
            raise RetryLater(str(exc)) from exc
        log.info(
            "care filing taken",
            household=data.household_id,
            request_id=submitted.document["_id"],
            replayed=submitted.replayed,
        )
