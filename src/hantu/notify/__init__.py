"""Telegram notifications: a durable outbox, templates, a rate-limited sender and a command poller.

Other areas call `hantu.notify.outbox.enqueue(session, kind, data, ...)` inside their own transaction; the
sender (`hantu.notify.sender.OutboxSender`) and the poller (`hantu.notify.commands.CommandPoller`) run as
threads of the scheduler or as `hantu notify run`.
"""
