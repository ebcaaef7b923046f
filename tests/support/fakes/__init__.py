"""In-memory stand-ins for the services' ports (repositories, upstream clients, providers, clocks), one module per
service; unit tests drive the domain with them and integration tests put them behind real apps."""
