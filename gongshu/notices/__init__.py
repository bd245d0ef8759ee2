"""Notices in the platform (站内通知) and the mail outbox that carries them by e-mail.

``notify`` is what other areas call, inside their own transaction; the job handlers in
``gongshu.notices.jobs`` deliver mail and send deadline reminders.
"""
