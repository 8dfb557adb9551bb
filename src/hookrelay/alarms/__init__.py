"""Alarms: a CloudWatch alarm (via SNS) to a Slack message a person reads at a glance.

``notification`` parses the alarm, ``logs`` reads the failing function's last errors, ``text`` and
``slack_message`` write the message (``health_message``: a partner health notice's), ``slack_post`` posts
it, ``forwarding`` ties them together;
``console`` prints the same for a terminal. May import the kernel and ``aws`` only.
"""
