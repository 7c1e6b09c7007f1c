"""Telegram notifications: a durable outbox, templates and a rate-limited sender (the command poller is `hantu.bot`).

Other areas call `hantu.notify.outbox.enqueue(session, kind, data, ...)` inside their own transaction; the
sender (`hantu.notify.sender.OutboxSender`) and the poller (`hantu.bot.commands.CommandPoller`) run as
threads of the scheduler or as `hantu notify run`.
"""
