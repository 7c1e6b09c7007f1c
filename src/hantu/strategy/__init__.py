"""Strategies: indicators, Phase 1 screening, Phase 2 selection, intraday decisions and exits."""
