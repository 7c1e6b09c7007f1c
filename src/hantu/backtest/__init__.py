"""Backtesting: the live strategy code and the paper broker's fill model, replayed over stored daily data.

Entry points: `hantu.backtest.service.run_backtest` (run, store, report), `hantu.backtest.storage`
(`list_backtests`, `get_backtest`), `hantu.backtest.engine.BacktestEngine` (run without storing).
"""
