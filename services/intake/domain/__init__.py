"""intake's pure rules: the catalogue and its questions, triage at the door, one submission path for every
front door, the request's own rules (submit, cancel, feedback), routing's events on the status view, and
the public views. No I/O and no framework: time, ids and documents are passed in."""
