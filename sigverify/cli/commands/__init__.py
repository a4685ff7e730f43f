"""Each module here defines ``add_parser(subparsers, common)`` and a ``run(args, ctx) -> int``.

``main`` discovers them, so adding a command is adding a file.
"""
