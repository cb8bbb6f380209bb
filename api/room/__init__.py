"""The session room: a booked session's WebRTC call between its two parties, signalled over a WebSocket."""
