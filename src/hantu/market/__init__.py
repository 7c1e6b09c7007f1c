"""Market data: the KRX calendar, market rules, the daily store, data sources and the sample market."""
