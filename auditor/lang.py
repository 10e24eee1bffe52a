"""The languages imgaudit speaks, and which one the environment asks for.

`--lang` (or IMGAUDIT_LANG, or the config file's `lang:`) wins; otherwise the POSIX locale
variables decide, in POSIX order: the first non-empty of LC_ALL, LC_MESSAGES and LANG. A
Chinese locale of the mainland (or Singapore, or plain `zh`) means zh-CN; anything else,
including an unset locale, `C` and `POSIX`, means English.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Literal

Lang = Literal["en", "zh-CN"]
LANGS: tuple[Lang, ...] = ("en", "zh-CN")
DEFAULT_LANG: Lang = "en"
TRANSLATIONS: tuple[Lang, ...] = tuple(lang for lang in LANGS if lang != DEFAULT_LANG)
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
# language[_territory][.codeset][@modifier]; zh_TW and zh_HK are Traditional: not zh-CN
_SIMPLIFIED = re.compile(r"^zh(?:[_-](?:CN|SG|Hans(?:[_-][A-Z]{2})?))?(?:[.@]|$)", re.IGNORECASE)


def locale_lang(env: Mapping[str, str] = os.environ) -> Lang:
    """The language of the POSIX locale in `env`: zh-CN for a Simplified Chinese one."""
    for name in LOCALE_VARIABLES:
        value = env.get(name, "")
        if value:
            return "zh-CN" if _SIMPLIFIED.match(value) else DEFAULT_LANG
    return DEFAULT_LANG
