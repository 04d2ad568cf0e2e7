"""Word lists that keep ordinary chat from being read as place names.

All entries are name keys (see `gazetteer.name_key`). The first three sets name real places in
the gazetteer, matched in free text only under the conditions their comments give.
"""

from __future__ import annotations


def _keys(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> frozenset[str]:
    return frozenset(" ".join(p.split()) for p in text.split(","))


# Gazetteer places and county short forms ("Bucks", "Staffs") whose names are everyday English
# words or phrases: matched in free text only when capitalised mid-sentence ("a hub in
# Reading?") or right after a locative ("in bath").
COMMON_WORD_PLACES = _keys(
    """
    amble ash bath battle beer bow brill bugle bury callow cove crook deal dollar eye fleet
    flint ford forth grain grays hale hay healing hook hope hurst law lea lee leek locking long
    moss over pant par pool rake reading rock rode rye sale sandy settle shaw stock stone tumble
    wall ware wells wing wool wick waterloo normandy cooling welling felling mere cults hoo wye
    cray diss crick deri pyle marks barrow shields
    bucks beds staffs wilts
    """
) | _phrases(
    """
    west end, new inn, how wood, mill end, silver end, town row, south bank, six bells,
    three crosses, four lanes, four marks, cross hands, old swan, bay horse, high peak, abbey road,
    harrow road, park street, church street, bow street, bar hill, fair oak, red scar, worlds end,
    west bay, bourne end, hatch end, hedge end, seven sisters, hope valley, new mill, new mills,
    new cross, manor park, moor park, elm park, south hill, north hill, forest hill, lark hill,
    grange hill, four crosses, three legged cross, cold ash, wood green, price town, hugh town,
    long ashton, great glen, hyde park, garden city, st peters, st marys, st james, eight ash green
    """
)


# Places named like a person or a thing that is capitalised anyway: matched only right after a
# locative ("from Keith"), so "Hi, I'm Keith" is no town in Moray and "a Church of England
# school" no village in Lancashire.
LOCATIVE_ONLY_PLACES = _keys(
    """
    keith leslie douglas barry arnold clive connor denny clare logan nelson houston simpson
    johnston shirley stanley bradley ashley beverley shelley harley hartley lewis lynn ross
    kirby hilton bentley hamilton morley hadley brandon eaton upton walton ashton burton
    thornton carlton compton clifton stanford irvine cameron milton moreton grace
    church street bridge hill valley island cross green wood grove park dale croft banks plains
    box
    """
)

# Places named like months: "starting in March" is a date, "a hub near March" a town.
CALENDAR_PLACES = frozenset({"march", "may", "june", "july", "august"})

# Words that never start or end a place in chat here: programme vocabulary, NPQ codes and the
# fillers around a place ("near me please"). Used to trim and to veto fuzzy guesses.
NON_PLACE_WORDS = _keys(
    """
    a an the me my our your you i we us it its here there this that area areas local home work
    school schools hub hubs trust trusts academy cohort cohorts course courses programme
    programmes program npq npqs npqh npqsl npqml npqlt npqltd npqlbc npqel npqeyl npqsenco
    npqlpm npqll npqaps npqlt headship leadership leading leader leaders senior middle teacher
    teachers teaching behaviour culture literacy development early years executive sen senco
    send inclusion funding funded fee fees cost apply application help please pls thanks thank
    thankyou cheers ok okay yes no not any anything something nearby near close closest nearest
    around round in at from to of for on by with and or but so if is are was be can could would
    should will what where when which who how why hi hello hey january february april
    september october november december monday tuesday wednesday thursday friday saturday sunday
    today tomorrow week month year term online virtual remote science maths mathematics english
    history geography art music computing languages physics chemistry biology primary
    secondary special nursery college university department faculty county region
    """
)

# Words that put a place after them: "near X", "in X"; and "to" after one of TO_LEADERS
# within two words: "close to X", "nearest hub to X".
LOCATIVES = frozenset({"near", "nr", "nearby", "in", "around", "round", "at", "from", "within"})
TO_LEADERS = frozenset({"close", "closest", "nearest", "near", "next", "closer", "nearer"})
# Only these (and the "to" forms) make a month a place ("near March", not "in March").
STRONG_LOCATIVES = frozenset({"near", "nr", "nearby", "around", "round"})

# UK nations and the UK itself: recognised, but not a point to measure from.
UK_REGIONS = _phrases(
    """
    england, scotland, wales, northern ireland, uk, u k, britain, great britain, united kingdom, gb
    """
)
