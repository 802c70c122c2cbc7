"""Developer tools: start and stop the stack, chat in a terminal, benchmark, evaluate the NLU."""
