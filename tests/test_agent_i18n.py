"""English and German texts: complete, and the product's German status names."""

from sosdesk.agent.i18n import DE, EN, STATUSES, status_name, text


def test_every_text_exists_in_both_languages_with_the_same_placeholders() -> None:
    assert set(EN) == set(DE)
    import string
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}
    assert all(fields(EN[k]) == fields(DE[k]) for k in EN)


def test_status_names() -> None:
    assert [status_name("de", s) for s in STATUSES] == [
        "Neu", "Ausstehend", "In Bearbeitung", "Geschlossen", "Abgelaufen"]
    assert [status_name("en", s) for s in STATUSES] == [
        "New", "Pending", "In progress", "Closed", "Expired"]


def test_unknown_language_is_english() -> None:
    assert text("fr", "menu.quit") == "Quit"
