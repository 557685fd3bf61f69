"""`python -m streamer_tts.twitch_sim --port 8080 [--script steps.yaml]`: the simulator by hand."""

import sys

from .script import main

sys.exit(main())
