"""The local control API: donations and control from the streamer's own tools."""
