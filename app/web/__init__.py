"""What every HTTP handler shares, whichever package serves it (app/api, app/pubsub):
the JSON error shape, strict JSON parsing, the JSON handler base, who is asking, and the
route table's record type."""
