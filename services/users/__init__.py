"""The users service (:8004): registration, login (JWT issuing) and the current user's profile."""
