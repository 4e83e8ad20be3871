"""`balise demo`: the whole pipeline on embedded defaults, on this machine."""
