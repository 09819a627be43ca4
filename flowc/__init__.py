"""flowc: the command line and REPL of Flow."""
