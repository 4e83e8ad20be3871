"""The censorship lab in Linux network namespaces (`balise lab run --mode netns`).

Every namespace, address and process of a run lives inside namespaces named
`bl<run id>-<role>`; nothing is added to the root namespace, and every address
comes from the documentation ranges (RFC 5737).
"""
