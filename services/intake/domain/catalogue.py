"""The service catalogue: the model lives in shared/catalogue.py (routing's administration checks an admin's
edit with the same code before it reaches intake); intake's modules import it from here."""

from shared.catalogue import (
    LIST_DATATYPES,
    Catalogue,
    NotAcceptedRule,
    Question,
    Referral,
    Service,
    Value,
)

__all__ = ["LIST_DATATYPES", "Catalogue", "NotAcceptedRule", "Question", "Referral", "Service", "Value"]
