"""The integrated scheduler: the daily timetable, run unattended, on the real or a simulated clock."""
