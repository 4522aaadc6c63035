"""The command line: click commands that build a request, run it and map errors to exit codes."""
