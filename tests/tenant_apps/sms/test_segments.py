import pytest

from tenant_apps.sms.segments import count_segments


@pytest.mark.parametrize(
    ("body", "encoding", "count"),
    [
        ("", "gsm7", 1),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("Café à 9h, Ça va? £5 [ok] ~ €", "gsm7", 1),
        ("ça", "ucs2", 1),  # GSM-7 has only the capital Ç
        ("€" * 80, "gsm7", 1),  # extension characters take two septets
        ("€" * 81, "gsm7", 2),  # 76 per part: an escape pair is never split
        ("a" * 70 + "ú", "ucs2", 2),
        ("ú" * 70, "ucs2", 1),
        ("😀" * 35, "ucs2", 1),  # a surrogate pair is two UTF-16 units
        ("😀" * 36, "ucs2", 2),
        ("😀" * 67, "ucs2", 3),  # 33 per part: a pair is never split
    ],
)
def test_segments_and_encoding(body, encoding, count):
    segments = count_segments(body)

    assert (segments.encoding, segments.count) == (encoding, count)
