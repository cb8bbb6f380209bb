"""E-mail notifications: an address a user adds and confirms, the mailer that sends their
notifications, one-click unsubscribe."""
