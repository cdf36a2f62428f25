"""notify: tells residents about every step, in their language, on their channel."""
