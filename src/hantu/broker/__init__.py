"""Brokers: the protocol the trading engine speaks, the paper broker and the KIS broker."""
