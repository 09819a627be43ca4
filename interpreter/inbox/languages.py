"""The words out-of-office answers and "left the company" answers use in
English, German, French, Spanish, Italian and Dutch, and their month names.
All lower case, accents kept (the text is lower-cased before matching)."""
from __future__ import annotations

#: Subjects of out-of-office answers (matched anywhere in the subject).
OUT_OF_OFFICE_SUBJECTS = (
    # English
    "out of office", "out of the office", "automatic reply", "auto reply", "auto-reply", "autoreply",
    "on vacation", "on holiday", "on leave", "away from the office", "away from my desk", "away until",
    # German
    "abwesenheit", "abwesend", "automatische antwort", "außer haus", "ausser haus", "nicht im büro",
    "im urlaub", "abwesenheitsnotiz",
    # French
    "absent du bureau", "absente du bureau", "réponse automatique", "reponse automatique", "absence du bureau",
    "en congé", "en conge", "en vacances", "absent(e)",
    # Spanish
    "fuera de la oficina", "respuesta automática", "respuesta automatica", "de vacaciones", "ausente",
    # Italian
    "fuori ufficio", "fuori sede", "risposta automatica", "assente", "in ferie",
    # Dutch
    "afwezig", "automatisch antwoord", "niet op kantoor", "buiten kantoor", "met vakantie", "op vakantie",
    "afwezigheidsbericht",
)

#: Phrases of an answer saying the person no longer works there.
LEFT_COMPANY = (
    # English
    "no longer with", "no longer work", "no longer employed", "left the company", "has left", "have left the",
    "is no longer at", "no longer part of",
    # German
    "nicht mehr im unternehmen", "nicht mehr bei", "nicht mehr für", "nicht mehr tätig", "nicht mehr beschäftigt",
    "hat das unternehmen verlassen", "habe das unternehmen verlassen", "ausgeschieden",
    # French
    "ne fait plus partie", "ne travaille plus", "a quitté la société", "a quitté l'entreprise",
    "ai quitté la société", "ai quitté l'entreprise", "n'est plus en poste",
    # Spanish
    "ya no trabaja", "ya no forma parte", "ha dejado la empresa", "ya no está en", "he dejado la empresa",
    # Italian
    "non lavora più", "non fa più parte", "ha lasciato l'azienda", "ho lasciato l'azienda", "non è più in",
    # Dutch
    "niet meer werkzaam", "uit dienst", "heeft het bedrijf verlaten", "niet langer werkzaam",
    "werkt niet meer bij",
)

#: Words that come before the return date ("back on ..."): a date after one
#: of them is the return date; without one, the latest date named is.
RETURN_WORDS = (
    "until", "till", "back on", "back in the office on", "return on", "returning on", "returning", "back",
    "bis zum", "bis einschließlich", "bis", "ab dem", "ab", "wieder am", "zurück am", "zurück",
    "jusqu'au", "jusqu’au", "jusqu'à", "de retour le", "de retour", "retour le", "à partir du",
    "hasta el", "hasta", "de vuelta el", "regreso el", "a partir del",
    "fino al", "fino a", "rientro il", "rientrerò il", "di ritorno il", "dal",
    "tot en met", "t/m", "tot", "terug op", "vanaf", "weer op",
)

#: Month names (and their usual abbreviations) -> month number.
MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    # German
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "okt": 10, "dezember": 12, "dez": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
    # Spanish
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    # Italian
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12,
    # Dutch
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
}
