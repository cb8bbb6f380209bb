"""Messages between the parties: inquiries on a listing and one thread per engagement."""
