"""Turning text into search tokens, the same way for documents and for queries.

The index holds, per catalog entry, a set of short tokens in one ordinary table:

- Han characters one by one (unigrams) and in overlapping pairs (bigrams): ``空``, ``空气``;
- for titles and agency names, their pinyin: each syllable (``p:kong``), each pair of
  neighbouring syllables written together (``p:kongqi``) and each pair of neighbouring
  initials (``i:kq``);
- ASCII words and numbers, lower-cased (``a:api``), and the whole resource code (``#…``).

A query is cut the same way. Each query term becomes one or more *groups* of alternative
tokens that must all be present: "空气质量" needs 空气, 气质 and 质量; "kongqi" needs
``p:kongqi`` (or the ASCII word ``a:kongqi``); "kqzl" is not pinyin, so it needs the
initials pairs kq, qz and zl. A query may have two readings (*plans*): "kong qi" is the
pinyin phrase kongqi, or the two English words kong and qi.

Pinyin comes from ``pypinyin`` except where an override (phrase → syllables, e.g. 费县 →
bi xian) says otherwise: place names with polyphonic characters are read wrongly by default.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import Any

MAX_QUERY_CHARS = 100
MAX_GROUPS = 16
MAX_TOKEN_CHARS = 64
MAX_WORD_CHARS = 32
MAX_PINYIN_TERM = 40

# Weights of where a token occurs; a token found in several places adds them up.
W_TITLE = 8
W_LABEL = 4
W_AGENCY = 2
W_DESCRIPTION = 1

# CJK unified ideographs (extension A, the main block, compatibility), built from code
# points so that no Han literal sits in the source.
_HAN = "".join(
    f"{chr(a)}-{chr(b)}" for a, b in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
)
_PIECE = re.compile(rf"[0-9a-z]+/[0-9]+|[{_HAN}]+|[0-9a-z]+")
_HAN_RUN = re.compile(rf"^[{_HAN}]+$")
_CODE = re.compile(r"^[0-9a-z]+/[0-9]+$")
_SYLLABLE_TEXT = re.compile(r"^[a-z]+( [a-z]+)*$")

#: Every syllable of standard pinyin (ü written v), as pypinyin writes them without tones.
_SYLLABLE_LIST = """
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo
bong bu ca cai can cang cao ce cei cen ceng cha chai chan chang chao che chen cheng
chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu cuan cui
cun cuo da dai dan dang dao de den deng di dian diao die din ding diu dong dou du
duan dui dun duo e ei en eng er fa fan fang fei fen feng fiao fo fou fu ga gai gan
gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang
hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang
jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou
ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang
liao lie lin ling liu lo long lou lu luan lun luo lv lve ma mai man mang mao me mei
men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng
ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan
pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie
qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan
rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shen sheng
shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo
ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa
wai wan wang wei wen weng wo wong wu xi xia xian xiang xiao xie xin xing xiong xiu
xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai
zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhen zheng zhi zhong zhou
zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo
"""
SYLLABLES: frozenset[str] = frozenset(_SYLLABLE_LIST.split())
_MAX_SYLLABLE = max(len(s) for s in SYLLABLES)


def normalise(text: str) -> str:
    """Full-width letters and digits to ASCII (NFKC), lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def is_han(text: str) -> bool:
    return bool(_HAN_RUN.match(text))


@dataclass(frozen=True)
class Overrides:
    """Pinyin overrides: phrase → syllables, e.g. ``("费县", ("bi", "xian"))``."""

    items: tuple[tuple[str, tuple[str, ...]], ...] = ()
    _index: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, mapping: Mapping[str, str]) -> Overrides:
        """From phrase → "bi xian" strings (as stored)."""
        items = tuple(sorted((p, tuple(s.split())) for p, s in mapping.items()))
        return cls(items, dict(items))

    @cached_property
    def max_len(self) -> int:
        return max((len(p) for p, _ in self.items), default=0)

    def get(self, phrase: str) -> tuple[str, ...] | None:
        return self._index.get(phrase)


NO_OVERRIDES = Overrides()


def plain_pinyin(text: str) -> str:
    """Pinyin as typed ("Bì Xiàn", "lü") to the stored form ("bi xian", "lv")."""
    text = unicodedata.normalize("NFC", text).lower().replace(chr(0xFC), "v")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def valid_override(phrase: str, syllables: str) -> bool:
    """An override gives one known syllable per Han character of the phrase."""
    if not is_han(phrase) or not _SYLLABLE_TEXT.match(syllables):
        return False
    parts = syllables.split()
    return len(parts) == len(phrase) and all(p in SYLLABLES for p in parts)


def _blanks(chars: str) -> list[str]:
    return ["" for _ in chars]


def _plain_pinyin(text: str) -> list[str]:
    # Imported on first use: pypinyin's dictionaries take ~55 MB, which processes that never
    # tokenise (ingestion workers, most CLI commands) should not carry.
    from pypinyin import lazy_pinyin

    unknown: Any = _blanks  # pypinyin accepts a list-returning callback; its stubs do not
    out = lazy_pinyin(text, errors=unknown)
    if len(out) != len(text):  # never expected for Han runs; keep positions aligned anyway
        out = [(lazy_pinyin(ch, errors=unknown) or [""])[0] for ch in text]
    return [s if s.isascii() and s.isalpha() else "" for s in out]


@lru_cache(maxsize=65536)
def syllables_of(run: str, overrides: Overrides = NO_OVERRIDES) -> tuple[str, ...]:
    """The pinyin of a Han run, one syllable per character ("" where none is known).

    Overrides win, longest phrase first; the rest goes to pypinyin in pieces so that its
    phrase dictionary still sees whole words.
    """
    result: list[str] = []
    plain_start = 0
    i = 0
    while i < len(run):
        hit: tuple[str, ...] | None = None
        for n in range(min(overrides.max_len, len(run) - i), 0, -1):
            hit = overrides.get(run[i : i + n])
            if hit is not None:
                break
        if hit is None:
            i += 1
            continue
        if plain_start < i:
            result.extend(_plain_pinyin(run[plain_start:i]))
        result.extend(hit)
        i += len(hit)
        plain_start = i
    if plain_start < len(run):
        result.extend(_plain_pinyin(run[plain_start:]))
    return tuple(result)


def _han_tokens(run: str) -> set[str]:
    tokens = set(run)
    tokens.update(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


def _pinyin_tokens(run: str, overrides: Overrides) -> set[str]:
    syl = syllables_of(run, overrides)
    tokens = {f"p:{s}" for s in syl if s}
    for a, b in pairwise(syl):
        if a and b:
            tokens.add(f"p:{a}{b}")
            tokens.add(f"i:{a[0]}{b[0]}")
    return tokens


@lru_cache(maxsize=65536)
def text_tokens(text: str, overrides: Overrides = NO_OVERRIDES, *, pinyin: bool) -> frozenset[str]:
    """The tokens of one piece of text (a title, a label, a description, a name)."""
    tokens: set[str] = set()
    for piece in _PIECE.findall(normalise(text)):
        if is_han(piece):
            tokens |= _han_tokens(piece)
            if pinyin:
                tokens |= _pinyin_tokens(piece, overrides)
        elif _CODE.match(piece):
            tokens.update(f"a:{w[:MAX_WORD_CHARS]}" for w in piece.split("/"))
        else:
            tokens.add(f"a:{piece[:MAX_WORD_CHARS]}")
    return frozenset(tokens)


def document_tokens(
    *,
    title: str,
    description: str,
    labels: Iterable[str],
    agency_name: str,
    code: str,
    overrides: Overrides = NO_OVERRIDES,
) -> dict[str, int]:
    """Token → weight for one catalog entry (weights of the places it occurs, added up)."""
    weights: dict[str, int] = {}

    def add(tokens: Iterable[str], weight: int) -> None:
        for token in tokens:
            weights[token] = weights.get(token, 0) + weight

    add(text_tokens(title, overrides, pinyin=True), W_TITLE)
    label_tokens: set[str] = set()
    for text in labels:
        label_tokens |= text_tokens(text, overrides, pinyin=False)
    add(label_tokens, W_LABEL)
    add(text_tokens(agency_name, overrides, pinyin=True), W_AGENCY)
    add(text_tokens(description, overrides, pinyin=False), W_DESCRIPTION)
    if code:
        add([code_token(code)], W_TITLE)
    return {t: w for t, w in weights.items() if len(t) <= MAX_TOKEN_CHARS}


def code_token(code: str) -> str:
    return "#" + normalise(code)[: MAX_TOKEN_CHARS - 1]


# --- queries ------------------------------------------------------------------------------


def segment_pinyin(text: str) -> tuple[str, ...] | None:
    """Cut letters into the fewest pinyin syllables (longest first on ties), or None."""
    if not text or len(text) > MAX_PINYIN_TERM or not text.isalpha():
        return None
    n = len(text)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[n] = ()
    for i in range(n - 1, -1, -1):
        for j in range(min(n, i + _MAX_SYLLABLE), i, -1):
            rest = best[j]
            if rest is None or text[i:j] not in SYLLABLES:
                continue
            candidate = (text[i:j], *rest)
            current = best[i]
            if current is None or len(candidate) < len(current):
                best[i] = candidate
    return best[0]


Group = frozenset[str]


@dataclass(frozen=True)
class Plan:
    """One reading of a query: every group must have at least one of its tokens."""

    groups: tuple[Group, ...]


@dataclass(frozen=True)
class ParsedQuery:
    """The readings of a query; an entry matches if it satisfies any of them."""

    plans: tuple[Plan, ...]

    @property
    def tokens(self) -> list[str]:
        return sorted({t for p in self.plans for g in p.groups for t in g})

    @property
    def empty(self) -> bool:
        return not self.plans


def _pinyin_alternatives(syllables: tuple[str, ...]) -> list[str]:
    if len(syllables) == 1:
        return [f"p:{syllables[0]}"]
    return [f"p:{a}{b}" for a, b in pairwise(syllables)]


def _ascii_groups(term: str) -> list[Group]:
    readings: list[list[str]] = [[f"a:{term[:MAX_WORD_CHARS]}"]]
    if term.isalpha():
        syllables = segment_pinyin(term)
        if syllables:
            readings.append(_pinyin_alternatives(syllables))
        elif 2 <= len(term) <= 12:
            readings.append([f"i:{a}{b}" for a, b in pairwise(term)])
    size = max(len(r) for r in readings)
    # Group k takes the k-th token of each reading (its last one when it is shorter): an
    # entry that satisfies any one reading satisfies every group.
    return [frozenset(r[min(k, len(r) - 1)] for r in readings) for k in range(size)]


def _term_groups(term: str) -> list[Group]:
    if is_han(term):
        if len(term) == 1:
            return [frozenset({term})]
        return [frozenset({term[i : i + 2]}) for i in range(len(term) - 1)]
    if _CODE.match(term):
        return [frozenset({code_token(term)})]
    return _ascii_groups(term)


def _unique(groups: Iterable[Group]) -> tuple[Group, ...]:
    seen: list[Group] = []
    for g in groups:
        if g not in seen:
            seen.append(g)
    return tuple(seen[:MAX_GROUPS])


def parse_query(text: str) -> ParsedQuery:
    """The readings of a search box's text (at most ``MAX_QUERY_CHARS`` characters used)."""
    terms = _PIECE.findall(normalise(text)[:MAX_QUERY_CHARS])
    if not terms:
        return ParsedQuery(())
    spaced_pinyin = (
        len(terms) > 1
        and all(t.isalpha() and t.isascii() for t in terms)
        and all(segment_pinyin(t) for t in terms)
        # "kong qi" is one word typed syllable by syllable; "kongqi shuju" is two words.
        and any(len(segment_pinyin(t) or ()) == 1 for t in terms)
        and len("".join(terms)) <= MAX_PINYIN_TERM
    )
    if spaced_pinyin:
        joined = segment_pinyin("".join(terms))
        syllables = joined or tuple(s for t in terms for s in segment_pinyin(t) or ())
        as_pinyin = Plan(_unique(frozenset({t}) for t in _pinyin_alternatives(syllables)))
        as_words = Plan(_unique(frozenset({f"a:{t[:MAX_WORD_CHARS]}"}) for t in terms))
        return ParsedQuery((as_pinyin, as_words))
    groups = [g for t in terms for g in _term_groups(t)]
    return ParsedQuery((Plan(_unique(groups)),))


def title_sort_key(title: str, overrides: Overrides = NO_OVERRIDES) -> str:
    """A key that orders titles by pinyin: syllables and other letters, each ending in "0".

    Only [0-9a-z] occur, so every database collation orders these keys alike.
    """
    parts: list[str] = []
    for piece in _PIECE.findall(normalise(title)):
        if is_han(piece):
            parts.extend(s or "zzzz" for s in syllables_of(piece, overrides))
        else:
            parts.extend(re.findall(r"[0-9a-z]+", piece))
    return "".join(p + "0" for p in parts)[:400]
