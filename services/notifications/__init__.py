"""The notifications service (port 8005): what the shop would tell customers, recorded from the events it consumes."""
