"""The payments service: card charges and refunds, idempotent per order (port 8003)."""
