"""The transactional outbox: payment.captured and payment.refunded are recorded in the transaction of
the state change they report, and the relay publishes them (services/common/events.py, relay.py)."""

from services.common.migrations import create_outbox, drop_outbox

revision = "0005"
down_revision = "0004"

upgrade = create_outbox
downgrade = drop_outbox
