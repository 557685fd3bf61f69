#!/usr/bin/env python3
"""streamer-tts: `python bot.py [run|check-config|devices|auth|demo] --help`."""

import sys

from streamer_tts.cli import main

if __name__ == "__main__":
    sys.exit(main())
