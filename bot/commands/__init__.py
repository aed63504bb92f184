"""The implementations behind `konsulta` subcommands, one module per command group."""
