"""Calendar maths of bookable sessions: a mentor's weekly availability in their IANA time zone,
date exceptions, and the free slots of an offering around what is already booked or held. Pure:
no database, no HTTP, no clock of its own (every function takes `now`)."""
