"""Booking: availability, session offerings and their free slots (more with holds and bookings)."""
