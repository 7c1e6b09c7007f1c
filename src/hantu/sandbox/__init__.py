"""Local stand-ins for the outside services (KIS, Telegram) that tests, benchmarks and the demo talk to."""
