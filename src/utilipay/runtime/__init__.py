"""What a hub process puts together from the areas, for the entry points (the HTTP app,
the worker, the command line): the directory of channels and billers, the write-off paths."""
