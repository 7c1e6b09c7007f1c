"""The Telegram bot: the command poller (/status, /halt …) and the read queries behind its answers."""
