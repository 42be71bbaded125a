"""A user module that quits the interpreter when imported (hostile input: roofsweep must say so)."""

import sys

sys.exit(4)
