"""The command line: one module per subcommand in ``commands/``, no logic of its own."""
