"""The payments service: card charges and refunds, idempotent per saga (port 8003)."""
