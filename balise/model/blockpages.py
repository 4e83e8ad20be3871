"""Known signs of a censor's block page (data only), from OONI's fingerprints and field
reports. The probe looks for them in what it fetches; the collector in imported OONI
measurements, whose own verdict can miss a block page."""

# Host names (or parts of them) that censors redirect blocked requests to.
BLOCKPAGE_HOSTS: tuple[str, ...] = (
    "lamanlabuh.aduankonten.id",  # Indonesia, Kominfo
    "internet-positif",  # Indonesia, ISP block pages
    "internetpositif",
    "peyvandha.ir",  # Iran
    "warning.rt.ru",  # Russia, Rostelecom
    "blocked.netbynet.ru",
    "block.khm.gov.kh",
)

# Lower-case phrases of block pages.
BLOCKPAGE_PHRASES: tuple[str, ...] = (
    "access to this site has been",
    "this site has been blocked",
    "this website has been blocked",
    "this website is not accessible",
    "blocked by",
    "internet positif",
    "aduankonten",
    "peyvandha",
)
