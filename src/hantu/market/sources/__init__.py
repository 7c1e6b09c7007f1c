"""Market data sources: each a small adapter that yields `DayBars` for the store (see `base.DailySource`)."""
