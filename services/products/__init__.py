"""The products service: the catalog and the stock reservations the order saga holds, commits and releases."""
