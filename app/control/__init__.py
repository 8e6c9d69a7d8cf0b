"""Control: PID, outputs with relay constraints, sensor validation, profiles, alarms, the
loop. Knows nothing of Tornado handlers."""
