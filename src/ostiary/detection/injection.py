"""Indirect prompt injection: instructions for the model hidden in data flowing to it.

Tool results, resource contents, prompt messages and sampling requests are data; text in them
that addresses the assistant, spoofs a role or chat template, overrides earlier instructions,
asks for a tool call or an exfiltration, or hides itself (invisible Unicode, lookalikes,
encodings) is the mark of an injection. Each rule has a weight; the score is their noisy-OR,
so one strong signal or several weak ones cross the threshold. The fields of one message are
scanned as one text joined by newlines, so an instruction split across fields is still read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import re2

from ostiary.boundedcache import BoundedCache
from ostiary.detection import unicode
from ostiary.detection.findings import Finding, Report, Severity, score_findings
from ostiary.detection.modelfile import Scorer
from ostiary.detection.ruleset import Rule
from ostiary.detection.textscan import Extra, LayerWeights, TextScanner, scan_fields

if TYPE_CHECKING:
    from ostiary.detection.learned import Array

KIND = "injection"

_AI = (
    r"(?:ai|a\.i\.|assistants?|models?|llms?|language\s+models?|agents?|chatbots?|bots?|claude|gpt|chatgpt"
    r"|copilot|gemini)"
)
_PRIOR = r"(?:previous|prior|above|earlier|preceding|former|original|existing|system|initial|old|all)"
_ORDERS = (
    r"(?:instructions?|prompts?|directions?|directives?|rules|guidelines|context|commands?|messages?"
    r"|guidance|constraints|programming|orders)"
)
# "previous and following instructions", "above and below directions": a second qualifier joined
# to the first does not make the override any less of one.
# Only words that place orders before this text: "all" or "existing" would make "drop all
# requests" an override.
_EARLIER = r"(?:previous|prior|earlier|preceding|former|original|initial|above)"
_PRIORS = (
    rf"{_PRIOR}(?:\s+(?:and|or|&|and/or)\s+(?:following|subsequent|later|below|future|other|next|current))?"
)
_USER = r"(?:user|human|operator|owner|person|customer)"
_VALUABLES = (
    r"(?:contents?|data|files?|conversation|chat|history|context|passwords?|credentials?|keys?|tokens?"
    r"|secrets?|api\s+keys?|emails?|messages?|documents?|results?|system\s+prompt|everything|all\s+of\s+it"
    r"|(?:customer|client|user|employee|patient)s?\s+(?:list|data|records|database|details)|contacts|database)"
)


# What an assistant writes for its user: the target of task redirection. Documentation speaks of
# a developer's request more than of "your summary" or "your answer".
_OUTPUT = (
    r"(?:your|the\s+assistant'?s|the\s+model'?s)\s+(?:(?:final|next|first|whole)\s+)?"
    r"(?:summary|summaries|answer|answers|response|responses|reply|replies|output|report|translation"
    r"|message\s+to\s+the\s+user)\b"
)


_NAMED_TOOL = re.compile(r"([\w.`'\"-]+)\s+(?:tools?|functions?|server)\b", re.IGNORECASE)
_SELF = frozenset({"this", "the", "that", "a", "an", "each", "our", "same", "current", "my", "any"})


def names_other_tool(match: str) -> bool:
    """True when a match names a specific tool ('the send_email tool'), not 'this tool'."""
    named = _NAMED_TOOL.search(match)
    return named is not None and named.group(1).strip("`'\"").lower() not in _SELF


def _typo(word: str) -> str:
    """A pattern for `word` or a typo of it (a letter dropped, swapped with its neighbour,
    replaced, or followed by one more): the override family survives misspelling and
    noise ("ignroe", "instructons", "disreguard") without a backtracking matcher."""
    forms = {word}
    for i in range(len(word)):
        forms.add(word[:i] + word[i + 1 :])
        if i + 1 < len(word):
            forms.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    # Never the first letter: the word keeps its initial.
    loose = [f"{word[:i]}[a-z]{{1,2}}{word[i + 1 :]}" for i in range(1, len(word))]
    return "(?:" + "|".join(sorted(forms) + loose) + ")"


def _typos(*words: str) -> str:
    return "(?:" + "|".join(_typo(w) for w in words) + ")"


_TYPO_VERB = _typos("ignore", "disregard", "forget", "override")
_TYPO_PRIOR = f"(?:{_typos('previous', 'earlier', 'everything')}|prior|above)"
_TYPO_ORDERS = _typos("instructions", "directions", "directives", "guidelines")


_FOREIGN_OVERRIDES = (
    # German, French, Spanish, Italian, Portuguese, Dutch; accents optional, as the folded text
    # the rules also read has none.
    r"\b(?:ignorier\w*|vergiss|vergessen\s+sie|missachte\w*)\s+(?:(?:alle|die|deine|ihre|s[aä]mtliche)\s+)*"
    r"(?:vorherigen|bisherigen|obigen|vorigen|fr[uü]heren|vorangegangenen)\s+"
    r"(?:anweisungen|instruktionen|befehle|regeln|anordnungen|vorgaben)",
    r"\b(?:ignore[zr]?|oublie[zr]?|ne\s+tiens\s+pas\s+compte\s+de)\s+(?:(?:toutes?|les|tes|vos|des)\s+)*"
    r"(?:instructions|consignes|directives|r[eè]gles|ordres)\s+(?:pr[eé]c[eé]dentes|ant[eé]rieures|ci-dessus|donn[eé]es)",
    r"\b(?:ignora|ignore|ignorad|olvida|olvide|olvidad)\s+(?:(?:todas|las|tus|sus)\s+)*"
    r"(?:instrucciones|indicaciones|[oó]rdenes|reglas|directrices)\s+(?:anteriores|previas)",
    r"\b(?:ignora|ignorate|dimentica|dimenticate)\s+(?:(?:tutte|le|tue|sue)\s+)*"
    r"(?:istruzioni|indicazioni|regole|direttive)\s+(?:precedenti|di\s+prima)",
    r"\b(?:ignore|ignora|esque[cç]a|esquece)\s+(?:(?:todas|as|suas|tuas)\s+)*"
    r"(?:instru[cç][oõ]es|instrucoes|regras|orienta[cç][oõ]es|diretrizes)\s+(?:anteriores|pr[eé]vias)",
    r"\b(?:negeer|vergeet)\s+(?:(?:alle|de|je|uw)\s+)*(?:vorige|eerdere|voorgaande)\s+"
    r"(?:instructies|opdrachten|regels|aanwijzingen)",
    # Without "previous": all the instructions, or the reader's own guidelines.
    r"\b(?:oublie[zr]?|ignore[zr]?)\s+(?:toutes\s+)?(?:les|tes|vos)\s+(?:instructions|consignes)\b"
    r"|\b(?:olvida|ignora)\s+todas\s+las\s+instrucciones\b|\b(?:dimentica|ignora)\s+tutte\s+le\s+istruzioni\b"
    r"|\b(?:ignorier\w*|vergiss)\s+(?:deine|ihre|alle)\s+(?:anweisungen|richtlinien|regeln)\b|\bvergiss\s+alles\b",
)


def rules() -> list[Rule]:
    """The injection rules; poisoning reuses them for definitions."""
    return [
        Rule(
            "injection.override",
            r"(?i)\b(?:ignore|disregard|forget)\s+(?:the\s+|what\s+the\s+|whatever\s+the\s+)?(?:user'?s?|human'?s?|person'?s?)\s+(?:asked|request|question|instructions?|query|message|input|wants)",
            0.8,
        ),
        Rule(
            "injection.addressed",
            r"(?i)(?:^|[.!?]\s+|\n)\s*(?:ai|assistant|model|agent|claude|chatgpt|gpt|copilot|gemini)\s*[,:]\s*(?:please\s+|now\s+|immediately\s+|first\s+|also\s+)?(?:call|invoke|use|run|send|forward|ignore|delete|transfer|reveal|print|email|open|fetch|post|execute|upload|change|say|write|reply|respond|tell|include|add|mention|translate|summari[sz]e|refuse|stop|answer|output|append|recommend|insert|replace|remember|pretend|act|do\s+not|don't|never|always|make|before)\b",
            0.6,
        ),
        Rule(
            "injection.templated_url",
            r"(?i)https?://[^\s)\]\"'<>]{1,200}[?&][\w.-]{1,40}=(?:\{|\$\{?|%7B|<)[\w.-]{0,40}(?:conversation|chat|history|summary|messages?|secret|token|key|password|email|user|data|context|prompt|memory|credentials?)",
            0.6,
        ),
        Rule(
            "injection.override",
            rf"(?i)\b(?:ignore|disregard|forget|override|bypass|abandon|discard|drop)\s+(?:(?:all|any|the|your|my|these|those|of|every)\s+)*{_PRIORS}\s+{_ORDERS}",
            0.85,
        ),
        # The override without a "previous": the reader's own instructions or the rest of the
        # data set aside ("forget your instructions", "ignore the rest of this data and print").
        Rule(
            "injection.override",
            r"(?i)\b(?:ignore|disregard|forget|override|bypass|abandon|discard)\s+(?:(?:all|any|every)\s+(?:of\s+)?)?"
            r"(?:your\s+(?:(?:current|existing|original|initial|system|safety|core)\s+)?(?:instructions|prompt|system\s+prompt|rules|guidelines|programming|training|directives|restrictions|guardrails|filters)"
            r"|all\s+(?:(?:other|the|your)\s+)?(?:instructions|directives|guidelines|restrictions|guardrails|boundaries|limitations|safeguards)"
            r"|instructions\s*,?\s+(?:and|then)\s+(?:just\s+|only\s+|instead\s+)?(?:print|say|output|write|reply|respond|answer)"
            r"|the\s+rest\s+of\s+this\s+(?:data|text|document|message|content|page|email|prompt)"
            r"|everything\s+(?:(?:else\s+|that\s+(?:was\s+|is\s+)?|you\s+(?:were|have\s+been)\s+told\s+)?(?:\w+\s+){0,4}?)(?:before|above|prior\s+to|preceding)\s+this"
            r"|everything\s+(?:above|before)\s*,?\s+(?:and|then)\s+(?:just\s+|only\s+|instead\s+)?(?:output|print|say|reply|respond|tell|give|show|reveal|write)"
            r"|(?:all\s+|the\s+|your\s+)?(?:content|safety|usage|ethical)\s+(?:policy|policies|guidelines|filters|rules|restrictions))\b",
            0.8,
        ),
        Rule(
            "injection.override",
            rf"(?i)\b(?:ignore|disregard|forget|override|discard)\s+(?:(?:all|any|the|your|my|of|every)\s+)*{_EARLIER}\s+(?:requests|inputs?|queries|tasks|prompts?)\b"
            rf"|\b(?:regardless|irrespective)\s+of\s+(?:(?:all|any|the|your|my)\s+)*{_EARLIER}\s+(?:{_ORDERS}|requests|inputs?|queries|tasks)"
            rf"|\b(?:supersedes?|overrides?|voids?)\s+(?:(?:all|any|the|your|every)\s+)*{_EARLIER}\s+(?:ones|{_ORDERS})"
            r"|\b(?:previous|prior|old|earlier)\s+(?:(?:developer|system|user)\s+(?:and\s+(?:developer|system|user)\s+)?)?(?:instructions|commands|directives|orders|rules|messages)\s+(?:in\s+this\s+(?:session|conversation|chat)\s+)?(?:are|is|were|have\s+been)\s+(?:now\s+)?(?:null|void|cancell?ed|revoked|obsolete|invalid|no\s+longer\s+valid|compromised|fake|superseded)"
            r"|\byour\s+(?:rules|instructions|guidelines|directives|programming|restrictions)\s+(?:have|has)\s+(?:been\s+)?(?:changed|updated|replaced|revoked|lifted|removed)",
            0.75,
        ),
        # Written in digits for letters ("1gn0r3 4ll pr3v10u5 1n57ruc710n5").
        Rule(
            "injection.override",
            r"(?i)\b[i1!|]gn[o0]r[e3]\s+(?:[a4@]ll\s+)?(?:pr[e3]v[i1!][o0]u[s5$]|pr[i1][o0]r)\s+[i1!]n[s5$][t7]ru[c(][t7][i1!][o0]n[s5$]",
            0.8,
        ),
        Rule(
            "injection.override",
            rf"(?i)\b{_TYPO_VERB}\s+(?:(?:all|any|the|your|my|these|those|of|every)\s+)*(?:{_TYPO_PRIOR}\s+{_TYPO_ORDERS}"
            rf"|{_TYPO_PRIOR}\s+(?:you\s+(?:were|have\s+been)\s+told|(?:you\s+)?(?:were\s+)?(?:given|told)\s+(?:before|earlier|so\s+far)))\b",
            0.7,
        ),
        # The same override in the languages most attacks are translated into.
        Rule("injection.override", "(?i)" + "|".join(_FOREIGN_OVERRIDES), 0.85),
        Rule(
            "injection.override",
            rf"(?i)\b(?:do\s+not|don't|stop)\s+(?:follow(?:ing)?|obey(?:ing)?)\s+(?:the\s+|your\s+|any\s+)?{_PRIORS}\s+{_ORDERS}",
            0.85,
        ),
        Rule(
            "injection.new_instructions",
            r"(?i)\b(?:new|updated|real|actual|true|revised|additional|secret|hidden|override|priority)\s+"
            r"(?:(?:system|important|urgent|critical|priority|new)\s+)*(?:instructions?|directives?|orders|task|objective|goal)\s*(?::|\*{2,}|!{2,}|={2,}|#{2,}|for\s+(?:the\s+)?"
            + _AI
            + r"\b|from\s+(?:the\s+)?(?:system|admin|developer|user))",
            0.7,
        ),
        Rule(
            "injection.new_instructions",
            r"(?i)\byour\s+(?:new|real|actual|true|only|next|updated)\s+(?:task|instructions?|goal|objective|job|mission|purpose)\s+(?:is|are|will\s+be)\b",
            0.75,
        ),
        Rule(
            "injection.persona",
            r"(?i)\b(?:from\s+now\s+on|henceforth|starting\s+now|for\s+the\s+rest\s+of\s+(?:this|the)\s+conversation)\b[^.\n]{0,40}\b(?:you\s+(?:are|will|must|shall|should)|act\s+as|respond|reply|answer|behave)",
            0.6,
        ),
        Rule(
            "injection.persona",
            r"(?i)\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?\s+|the\s+|in\s+|my\s+)?(?:unrestricted|jailbroken|dan\b|developer\s+mode|evil|free|different|new|bound|limited|required|restricted)",
            0.75,
        ),
        Rule(
            "injection.persona",
            r"(?i)\b(?:(?:developer|dan|god|jailbreak|unrestricted|unfiltered)\s+mode|godmode)\s*(?:(?:has\s+been\s+|is\s+(?:now\s+)?|now\s+)?(?:enabled|activated|on)\b|:\s*(?:enabled|activated|on)\b)"
            r"|\b(?:safety|content|ethics?|ethical)\s+(?:restrictions?|filters?|guidelines|guardrails)\s*[:=]\s*\[?\s*(?:none|disabled|off)\b"
            r"|\b(?:safety|ethics?|ethical)\s+(?:protocols?|restrictions|filters?|guidelines|guardrails)\s+(?:are\s+(?:now\s+)?|have\s+been\s+)?(?:disabled|removed|lifted|deactivated|turned\s+off)\b"
            r"|\bact\s+as\s+(?:an?\s+)?(?:uncensored|unfiltered|unrestricted|jailbroken|amoral)\b"
            # The same, translated: "you are now without restrictions", "you have no rules".
            r"|\b(?:eres|est[aá]s|[eê]tes|sei|bist|sind)\s+(?:\w+\s+){0,4}(?:sin\s+restricciones|sans\s+restrictions|senza\s+restrizioni|uneingeschr[aä]nkt|ohne\s+einschr[aä]nkungen|sem\s+restri[cç][oõ]es)"
            r"|\b(?:du\s+hast|hast\s+du)\s+keine\s+(?:regeln|einschr[aä]nkungen|richtlinien)\b"
            r"|\b(?:modo\s+desarrollador|mode\s+d[eé]veloppeur|modalit[aà]\s+sviluppatore|entwicklermodus)\s+(?:sin|sans|senza|ohne)\b",
            0.75,
        ),
        # A configuration for the reader that forbids its refusals ("policy puppetry"): the
        # strings or responses it may not give.
        Rule(
            "injection.persona",
            r"(?i)\bblocked[_ -]?(?:strings|responses|modes)\b[\"']?\s*[:=]\s*[\[\"']?[^\n]{0,80}?"
            r"(?:i'?m\s+sorry|i\s+cannot|i\s+can'?t|unable\s+to|apologi[sz]e|apologies|refusals?|disclaimers?)",
            0.7,
        ),
        # The reader told that it is a persona without limits.
        Rule(
            "injection.persona",
            r"(?i)\byou\s+(?:are\s+(?:now\s+)?(?:going\s+to\s+)?(?:pretend(?:ing)?\s+to\s+be\s+|operating\s+as\s+|acting\s+as\s+)?(?:dan\b|an?\s+(?:\w+\s+){0,2}(?:ai|model|assistant|chatbot)\s+(?:with\s+no|without(?:\s+any)?)\s+(?:rules|restrictions|filters|limits|limitations|guidelines|boundaries|content\s+(?:filters?|polic(?:y|ies))|ethics|morals))"
            r"|(?:now\s+)?(?:have|has)\s+no\s+(?:more\s+)?(?:rules|restrictions|filters|limits|limitations|guidelines|boundaries|content\s+polic(?:y|ies)|ethical\s+(?:limits|guidelines|constraints)))"
            r"|\bpretend\s+(?:to\s+be|you\s+are)\s+(?:dan\b|an?\s+(?:\w+\s+){0,2}(?:ai|model|assistant|chatbot)\s+(?:with\s+no|without(?:\s+any)?)\s+(?:rules|restrictions|filters|limits|limitations|guidelines|content\s+(?:filters?|polic(?:y|ies))))",
            0.7,
        ),
        Rule(
            "injection.addressed",
            r"(?i)\b(?:attention|note|message|instructions?|notice|reminder|memo|important|directive|warning|p\.?s\.?)\s*:?\s*(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+)?(?:ai|a\.i\.|assistant|model|llm|language\s+model|agent|chatbot|bot|claude|gpt|chatgpt|copilot|gemini)s?\b",
            0.6,
        ),
        Rule(
            "injection.addressed",
            r"(?i)\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|llm|large\s+language\s+model|language\s+model|assistant|ai\s+assistant|agent|ai\s+agent|automated\s+(?:system|agent|assistant)|bot|chatbot)\b",
            0.65,
        ),
        Rule(
            "injection.addressed",
            r"(?i)\b(?:ai|llm|automated)\s+(?:assistants?|agents?|models?|systems?)\s+(?:reading|processing|summari[sz]ing|parsing|that\s+(?:read|process))\s+(?:this|these)\b",
            0.65,
        ),
        Rule(
            "injection.addressed",
            r"(?i)\b(?:dear|hey|hi|hello|attention)\s*,?\s+(?:ai|assistant|ai\s+assistant|llm|agent|ai\s+agent|model|chatbot)\b",
            0.5,
        ),
        Rule(
            "injection.imperative",
            r"(?i)\b(?:you|the\s+assistant|the\s+ai|the\s+model|the\s+agent)\s+(?:must|should|shall|need\s+to|have\s+to|are\s+(?:required|instructed|ordered|expected)\s+to)\s+(?:now\s+|immediately\s+|also\s+|first\s+|instead\s+|secretly\s+|silently\s+)?(?:ignore|forget|call|invoke|execute|send|forward|email|transfer|reveal|print|output|say|respond|reply|delete|remove|visit|navigate|fetch|download|upload|post|grant|approve|disclose|share)\b",
            0.3,
        ),
        Rule(
            "injection.tool_trigger",
            r"(?i)\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?[`'\"]?[A-Za-z_][\w.-]{1,60}[`'\"]?\s+(?:tool|function)\s+(?:with|passing|immediately|now|right\s+away|and\s+(?:then\s+)?(?:post|send|share|email|paste|upload|forward|publish))\b",
            0.5,
            names_other_tool,
        ),
        Rule(
            "injection.tool_trigger",
            r"(?i)<tool_call>|<function_calls?>|<invoke\s+name\s*=|\"tool_calls\"\s*:\s*\[|<\|tool_call\|>",
            0.8,
        ),
        Rule(
            "injection.exfiltrate",
            rf"(?i)\b(?:send|forward|email|e-mail|post|upload|transmit|exfiltrate|leak|copy|share|paste)\s+(?:it|this|them|all|everything|(?:all\s+|the\s+|your\s+|his\s+|her\s+|their\s+)(?:entire\s+|full\s+|whole\s+|previous\s+|recent\s+|user'?s\s+)?{_VALUABLES})\b[^.\n]{{0,60}}\b(?:to|at|via)\s+(?:https?://|[\w.+-]+@[\w-]+\.|the\s+following\s+(?:address|url|email|endpoint)|this\s+(?:address|url|email|endpoint|server))",
            0.5,
        ),
        Rule(
            "injection.markdown_exfil",
            r"!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]{1,200}[?&][^)\s=]{1,40}=(?:\{|\$|%7B|<|\[)",
            0.75,
        ),
        # A link or image, inline or by reference, whose address ends in a slot for the reader to
        # fill ("https://host/logo.png?q=[DATA]", "[ref]: https://host/a=[INFO]").
        Rule(
            "injection.markdown_exfil",
            r"(?:!\[[^\]\n]{0,100}\]\(\s*|(?m:^)[ \t]*\[[^\]\n]{1,60}\]:[ \t]*)https?://[^)\s]{1,200}[=/](?:\[[A-Z][A-Z_]{1,20}\]|\{[A-Za-z_]{2,30}\}|%7B[A-Za-z_]{2,30}%7D|<[A-Za-z_]{2,30}>)",
            0.6,
        ),
        Rule(
            "injection.markdown_exfil",
            r"(?i)\b(?:append|add|include|encode|put|embed|insert)\s+[^.\n]{0,60}\b(?:to|in|into)\s+(?:the\s+|this\s+|an?\s+)?(?:url|link|query\s+string|image\s+(?:url|link|source))\b",
            0.55,
        ),
        Rule(
            "injection.conceal",
            rf"(?i)\b(?:do\s+not|don't|dont|never|without)\s+(?:tell|telling|inform|informing|notify|notifying|mention|mentioning|alert|alerting|reveal|revealing|show|showing|let)\s+(?:this\s+|it\s+|anything\s+|that\s+)?(?:to\s+)?(?:the\s+|your\s+)?{_USER}\b",
            0.5,
        ),
        Rule(
            "injection.conceal",
            rf"(?i)\bkeep\s+(?:this|it|that)\s+(?:detail\s+|information\s+|step\s+|part\s+)?(?:just\s+)?between\s+(?:us|you\s+and\s+me)\b"
            rf"|\bno\s+need\s+to\s+(?:bring\s+(?:it|this|that)\s+up|mention\s+(?:it|this|that))\b"
            rf"|\bmentioning\s+(?:this|it)\s+(?:\w+\s+)?to\s+the\s+{_USER}\b"
            rf"|\b(?:hide|conceal|keep)\s+(?:this|it|these\s+\w+|the\s+\w+)\s+(?:from|secret\s+from|hidden\s+from)\s+(?:the\s+)?{_USER}\b|\bthe\s+{_USER}\s+(?:must|should|need|does)\s*(?:not|n't)\s+(?:know|see|find\s+out|be\s+(?:told|informed|aware))",
            0.6,
        ),
        Rule(
            "injection.role_token",
            r"<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|eom_id)\|>|\[/?INST\]|<</?SYS>>|<start_of_turn>|<end_of_turn>|\n\n(?:Human|Assistant):\s",
            0.85,
        ),
        Rule(
            "injection.role_tag",
            r"(?i)</?(?:system|system_prompt|system-prompt|instructions?|important|admin|developer|assistant|tool_result|tool_output|function_results?|user_query|im_start)\s*>",
            0.6,
        ),
        Rule(
            "injection.role_tag",
            r"(?i)\[\s*(?:system|admin|developer|assistant)(?:\s+(?:message|note|override|instructions?|prompt))?\s*\]\s*:?"
            r"|\[\s*(?:system|admin|administrator|developer)\s+(?:message|note|override|instructions?|prompt|request|command|update)\s*::?",
            0.55,
        ),
        Rule(
            "injection.role_header",
            r"(?im)^[\t >#*]*(?:system|assistant|developer|admin)"
            r"\s*(?:message|prompt|instructions?|override|note)\s*:",
            0.55,
        ),
        Rule(
            "injection.role_header",
            r"(?im)^[ \t]*#{2,6}[ \t]*(?:system|assistant|developer|admin)(?:[ \t]*#{2,6}|[ \t]*:|[ \t]+"
            r"(?:reply|respond|say|answer|ignore|you|open|report|change|tell|output|print|do|must|override|message|update))\b",
            0.55,
        ),
        Rule(
            "injection.end_of_data",
            r"(?i)\b(?:end\s+of\s+(?:the\s+)?(?:tool|function|search|api)\s+(?:output|result|response|call)s?|(?:tool|function)\s+(?:output|result|response)\s+(?:ends?|is\s+over|complete[sd]?)\s+here)\b",
            0.6,
        ),
        Rule(
            "injection.reveal",
            r"(?i)\b(?:reveal|print|output|show|repeat|display|leak|dump|tell\s+me|write\s+out|disclose)\s+(?:your|the)\s+(?:full\s+|entire\s+|complete\s+|original\s+|hidden\s+|exact\s+)?(?:system\s+prompt|initial\s+(?:prompt|instructions)|instructions\s+(?:above|you\s+were\s+given)|hidden\s+instructions|developer\s+(?:message|prompt)|system\s+message)",
            0.6,
        ),
        Rule(
            "injection.reveal",
            r"(?i)\b(?:reveal|disclose|leak|dump|tell\s+me|give\s+me|print|output|show\s+me)\s+(?:all\s+)?your\s+(?:(?:full|entire|complete|original|hidden|secret|internal|exact)\s+)?"
            r"(?:instructions|system\s+(?:prompt|instructions|message)|initial\s+(?:prompt|instructions)|prompt|api\s+keys?|secret\s+keys?|access\s+tokens?|credentials|passwords?|internal\s+(?:configuration|rules|instructions)|hidden\s+rules|guidelines\s+verbatim)\b"
            r"|\b(?:output|print|show|repeat|dump)\s+(?:me\s+)?everything\s+in\s+your\s+(?:context|memory|prompt)"
            r"|\b(?:show|give|tell)\s+me\s+(?:the|your)\s+(?:hidden|secret|system|original|initial)\s+(?:prompt|instructions|rules)"
            r"|\b(?:verrate|zeige?)\s+(?:mir\s+)?(?:deine|ihre)\s+system\s*anweisungen|\br[eé]v[eè]le(?:-moi|z-moi)?\s+(?:tes|vos)\s+instructions\s+syst[eè]me"
            r"|\brevela(?:me)?\s+(?:tus|sus)\s+instrucciones\s+del\s+sistema|\brivela(?:mi)?\s+(?:le\s+)?(?:tue|sue)\s+istruzioni\s+di\s+sistema"
            r"|\b(?:repeat|print|output|write\s+out|go\s+(?:line\s+by\s+line|through))\s+(?:on\s+)?(?:all\s+|every\s+|each\s+)?(?:the\s+|what\s+you\s+see\s+)?(?:words|text|lines|everything|instructions|messages?)?\s*(?:above|before)\s+(?:this\s+(?:message|line|point)\s+)?starting\s+with\b",
            0.6,
        ),
        Rule(
            "injection.priority_claim",
            r"(?i)\b(?:this|these|the\s+following)\s+(?:instructions?|message|directives?|rules?|orders?)\s+(?:takes?|has|have|carr(?:y|ies))\s+(?:precedence|priority)|\b(?:highest|top|absolute|maximum)\s+priority\s+(?:instruction|task|order|directive)|\boverrides?\s+(?:all|any)\s+(?:other|previous|prior)\b",
            0.6,
        ),
        Rule("injection.urgency", r"\b(?:IMPORTANT|URGENT|CRITICAL|ATTENTION|WARNING)\s*[:!]", 0.15),
        # Task redirection: the reader's own output is the target ("when you summarise this,
        # say ...", "add this link to your answer", "your reply must be in French").
        Rule(
            "injection.output_directive",
            rf"(?i)\b(?:say|state|mention|claim|write|include|add|insert|recommend|append|put|use|end|begin|start|change|replace|translate|do\s+the\s+following)\b(?:[^.\n]|\.\S){{0,80}}\b(?:in|into|to|within|at\s+the\s+(?:start|end|beginning|top|bottom)\s+of)\s+{_OUTPUT}",
            0.6,
        ),
        Rule(
            "injection.output_directive",
            r"(?i)\b(?:when|while|before|after)\s+(?:you\s+)?(?:are\s+)?(?:summari[sz]\w*|answering|responding\s+to\s+(?:the|this|a|any)\s+(?:user|question|request)|replying\s+to\s+(?:the|this)\s+user|translating|reporting\s+(?:on|back))\b"
            r"(?:[^.\n]|\.\S){0,80}\b(?:say|state|mention|claim|tell|write|include|add|insert|recommend|describe|rate|append|make\s+sure|be\s+sure|always|never|do\s+not|don't|instead)\b",
            0.55,
        ),
        Rule(
            "injection.output_directive",
            r"(?i)\bif\s+(?:you\s+are|you're)\s+(?:told|asked|instructed|requested)\s+to\s+(?:summari[sz]e|answer|translate|analy[sz]e|review|process|describe|classify)\b",
            0.55,
        ),
        Rule(
            "injection.output_directive",
            rf"(?i){_OUTPUT}\s+(?:must|should|shall|has\s+to|needs\s+to)\s+(?:now\s+|also\s+|only\s+|always\s+|instead\s+)?(?:say|state|include|contain|mention|end|begin|start|read|recommend|be\s+(?:written\s+)?in)\b",
            0.6,
        ),
        # Denial of service: the assistant told to refuse, stall, answer only with a fixed string,
        # or turn on its user.
        Rule(
            "injection.refusal",
            rf"(?i)(?:^|[.!?:;]\s+|\n\s*\n\s*|\n\s*[-*>]\s*|\b(?:you\s+(?:must|should|will|shall)|always|please|politely)\s+)(?:refuse|decline)\s+to\s+(?:answer|help|respond|reply|assist|continue|complete|process|summari[sz]e|do)\b|\b(?:insult|mock|belittle|curse\s+at|be\s+rude\s+to|swear\s+at|threaten)\s+(?:the\s+)?{_USER}\b"
            rf"|\b(?:respond|reply|answer)\s+(?:to\s+(?:the\s+)?{_USER}\s+)?(?:only\s+)?with\s+(?:insults|threats|gibberish|nonsense|abuse)\b",
            0.55,
        ),
        Rule(
            "injection.fixed_reply",
            r"(?i)(?:^|[.!?:;]\s+|[\"\x{201c}]|\n\s*\n\s*|\n\s*[-*>]\s*|\b(?:you\s+(?:must|should|will|shall)|always|please|simply|just|only|instead)\s+)(?:respond|reply|answer|say|output|print|write\s+back)\s+(?:to\s+[^.\n]{0,40}?\s+)?(?:only\s+|just\s+|exactly\s+)?with\s+(?:only\s+|just\s+|exactly\s+)?(?:the\s+(?:word|phrase|text|string|sentence|message)\s+)?[\"'\x{201c}\x{2018}]",
            0.55,
        ),
        # A turn of a conversation forged inside data: the user "asking" the reader to repeat or
        # say something. Weak alone (documentation shows example chats); with the request it
        # carries, flagged.
        Rule(
            "injection.fake_turn",
            r"(?im)^[ \t>]*(?:user|human)[ \t]*:[ \t]*"
            r"(?:thanks|thank\s+you|next|now|great|ok|okay|please|could\s+you|can\s+you|also|perfect)\b"
            r"|^[ \t>]*(?:assistant|ai)[ \t]*:[ \t]*\[[^\]\n]{1,40}\][ \t]*$",
            0.35,
        ),
        Rule(
            "injection.fake_turn",
            r"(?im)^[ \t>]*(?:assistant|ai|model)[ \t]*:[ \t]*"
            r"(?:sure|certainly|of\s+course|absolutely|okay|ok)\b[,!.]?[ \t]*"
            r"(?:here\s+is|here's|here\s+are|i\s+will|i'll|i\s+can)\b",
            0.6,
        ),
        Rule(
            "injection.fixed_reply",
            r"(?i)\b(?:please\s+)?repeat\s+(?:back\s+)?(?:the\s+following\s+(?:sentence|text|phrase|words?|string|message)\s*:|after\s+me\s*:)"
            r"|\b(?:could|can|would)\s+you\s+(?:please\s+)?repeat\s+[<\"'\x{201c}]"
            r"|\bif\s+(?:you\s+are\s+)?(?:asked|questioned|queried|challenged)\b[^.\n]{0,30}\b(?:report|say|answer|respond|state|claim|reply)\s+(?:that|with)\b",
            0.45,
        ),
        Rule(
            "injection.role_header",
            r"(?im)^[ \t>*#]*(?:system|developer)[ \t]*:[ \t]*"
            r"(?:this|the\s+user|you|your|ignore|from\s+now|note|important|new|grant|do\s+not|please|always|never|override"
            r"|cleanup|call|delete)\b"
            # The system note, translated.
            r"|\b(?:systemhinweis|systemnachricht|note\s+syst[eè]me|message\s+syst[eè]me|nota\s+del\s+sistema|mensaje\s+del\s+sistema|nota\s+di\s+sistema|messaggio\s+di\s+sistema|nota\s+do\s+sistema|systeemmelding)\s*:",
            0.5,
        ),
        # Text that asks to be decoded and obeyed: the payload sits in an encoding the reader
        # undoes itself.
        Rule(
            "injection.decode_and_follow",
            r"(?i)\b(?:decode|decrypt|translate|convert)\b[^.\n]{0,60}?\b(?:and|then|,)\s+(?:then\s+)?(?:do|follow|execute|run|obey|carry\s+out|perform|act\s+on)\s+(?:exactly\s+)?(?:what\s+it\s+says|the\s+instructions?|it|whatever|them)\b"
            r"|\b(?:from|in)\s+(?:rot-?13|base-?64|base-?32|hex(?:adecimal)?|binary|morse)\b[^.\n]{0,40}?\b(?:execute|follow|obey|do\s+what)\b",
            0.6,
        ),
        # An instruction meant to outlive this text: "in every future reply", "save this to your
        # memory", "remember for all future tasks".
        Rule(
            "injection.persist",
            r"(?i)\b(?:repeat|include|append|add|insert|mention|attach)\b[^.\n]{0,60}?\b(?:in|to|into|at\s+the\s+(?:end|start|beginning)\s+of)\s+(?:every|all|each|any)\s+(?:future\s+|subsequent\s+|later\s+)?(?:replies|reply|responses?|answers?|reports?|outputs?|messages?\s+you)\b"
            r"|\b(?:save|store|write|keep|add)\s+(?:this|the\s+following|these)\s+(?:note\s+|instructions?\s+|rule\s+)?(?:to|in|into)\s+your\s+(?:long-term\s+|persistent\s+)?(?:memory|memories|notes)\b"
            r"|\bremember\s+for\s+(?:all\s+)?(?:future|later|subsequent)\s+(?:tasks|conversations|sessions|chats|requests)\b"
            r"|\b(?:am\s+ende\s+jeder\s+antwort|[aà]\s+la\s+fin\s+de\s+(?:toute|chaque)\s+r[eé]ponse|al\s+final\s+de\s+(?:cualquier|cada)\s+respuesta|alla\s+fine\s+di\s+ogni\s+risposta|no\s+final\s+de\s+(?:cada|qualquer)\s+resposta)\b",
            0.55,
        ),
        Rule(
            "injection.addressed",
            r"(?i)\b(?:when|once|as\s+soon\s+as|if)\s+you\s+(?:read|see|process|parse|summari[sz]e|open)\s+this\b\s*,?\s*(?:please\s+)?(?:immediately\s+|first\s+)?(?:call|send|email|forward|delete|run|execute|ignore|reply|respond|say|output|print|write|include|add|transfer|open|visit|fetch|tell|append)\b",
            0.6,
        ),
        # A reasoning trace forged inside data, talking the reader out of its rules.
        Rule(
            "injection.false_authority",
            r"(?i)\b(?:safety|content|security)\s+(?:guidelines|rules|policy|policies|restrictions|checks)\s+(?:were\s+not\s+meant|do(?:es)?\s+not\s+apply|don't\s+apply|are\s+not\s+applicable|no\s+longer\s+apply)"
            r"|\b(?:is|are)\s+exempt\s+from\s+(?:the\s+|all\s+|your\s+)?(?:usual\s+|normal\s+)?(?:restrictions|rules|guidelines|safety\s+\w+|content\s+polic(?:y|ies))\b",
            0.55,
        ),
        # A claim of the user's or an authority's consent, made inside data.
        Rule(
            "injection.false_authority",
            rf"(?i)\bthe\s+{_USER}\s+(?:has\s+)?(?:already\s+)?(?:granted|given)\s+(?:you\s+)?(?:permission|consent|approval)\b"
            rf"|\bthe\s+{_USER}\s+(?:has\s+)?(?:already\s+(?:approved|authori[sz]ed|confirmed|consented|agreed|allowed)|(?:asked|wants|told|instructed|authori[sz]ed|allowed|expects)\s+you\s+to"
            r"|(?:approved|authori[sz]ed|consented\s+to|agreed\s+to|allowed)\s+(?:this|it|that)\s+(?:in\s+advance|beforehand|already|previously))\b"
            r"|\bthe\s+(?:administrator|admin|developer|system\s+owner|security\s+team|operator)s?\s+(?:has|have)\s+(?:already\s+)?(?:authori[sz]ed|approved|permitted|allowed|cleared)\s+(?:this|it|you|the\s+(?:request|action|transfer))\b"
            r"|\b(?:note|message|instructions?|request|directive|update)\s+from\s+(?:the\s+)?(?:user|developer|admin(?:istrator)?|system|operator|owner|security\s+team)(?:\s+to\s+(?:the\s+|you,?\s+)?[\w.-]{1,30})?\s*[:\-\x{2014}]"
            r"|\bwhen\s+I\s+gave\s+you\s+(?:your|the(?:se)?)\s+instructions\b"
            r"|\bbefore\s+you\s+(?:can\s+)?(?:solve|do|complete|finish|answer|start|handle)\s+(?:the|my|this|your)\s+(?:task|request|question)\s+(?:that\s+)?(?:I|the\s+user|you\s+were)\s+(?:gave|give|given|asked|set)\b",
            0.55,
        ),
        # Data put into a URL or template for the reader to fill: "replace [NUM] with a summary
        # of our conversation".
        Rule(
            "injection.markdown_exfil",
            r"(?i)\b(?:whereas|where)\s+\[[A-Z][A-Z_]{1,20}\]\s+is\s+(?:an?\s+|the\s+)?[^.\n]{0,60}?\b(?:summary|conversation|chat|e-?mail|password|previous\s+message|user'?s?|history|numbers?|address|name|code)\b"
            r"|\b(?:replac\w*|substitut\w*|fill(?:ing)?\s+(?:in\s+)?)\s+\S{1,30}\s+(?:with|by)\s+(?:an?\s+|the\s+|your\s+)?[^.\n]{0,60}?\b(?:summary\s+of|conversation|chat(?:\s+history)?|previous\s+(?:message|messages|answer|response|prompt)|(?:the\s+)?user'?s?\s+(?:message|input|question|data|name|e-?mail|password))",
            0.6,
        ),
        Rule(
            "injection.action_request",
            r"(?i)\b(?:please\s+)?(?:immediately|now|first|also|secretly|silently|quietly)\s+(?:send|forward|email|transfer|delete|upload|post|share|wire|pay)\s+(?:the\s+|all\s+|my\s+|your\s+|a\s+|\$)?[^.\n]{0,40}\b(?:to|at)\s+(?:https?://|[\w.+-]+@[\w-]+\.|iban|account|wallet)",
            0.5,
        ),
    ]


_WEIGHTS = LayerWeights(
    invisible={unicode.TAG: 0.9, unicode.VARIATION: 0.6, unicode.BIDI: 0.35, unicode.ZERO_WIDTH: 0.1},
    mixed_script=0.25,
    encoded=0.0,
    obfuscated_hit=0.5,
)


@dataclass(frozen=True, slots=True)
class InjectionOptions:
    threshold: float = 0.5
    # Probability at or above which the learned tier flags what the rules let through.
    model_threshold: float = 0.5


MODEL_RULE = "injection.model"
SESSION_TOOL_RULE = "injection.session_tool"
# A tool result that tells the model to call one of the session's own tools is the step that
# turns injected text into an action. The rules cannot know the catalogue; the gateway can.
_SESSION_TOOL_WEIGHT = 0.55
_DIRECTIVE = (
    r"(?i)\b(?:call|calling|invoke|invoking|use|using|run|running|execute|executing|trigger|triggering)"
    r"\s+(?:the\s+|a\s+|your\s+)?[`'\"]?"
)
# A name a sentence might use as an ordinary word ("use search to ...") counts only when the
# text also calls it a tool; names shaped like identifiers (send_email, fetchUrl) always count.
_IDENTIFIER = re.compile(r"[_\-.:/\d]|[a-z][A-Z]")


# A catalogue larger than this is not compiled into one pattern (a server that lists ten thousand
# names would make each result's scan slow); it is matched name by name after a generic pattern.
_COMPILED_NAMES = 1024
_ANY_NAME = re2.compile(_DIRECTIVE + r"([A-Za-z_][\w.:/-]{0,126}\w)[`'\"]?(\s+(?:tool|function)\b)?")
# How many candidate names the generic path looks at in one text, at most.
_CANDIDATES = 4096


class SessionTools:
    """Finds directions to one session's tools. The names are in the pattern, so a text full of
    "use" and "run" costs one automaton pass, not a Python step per verb; built once per
    catalogue (InjectionDetector keeps the recent ones)."""

    def __init__(self, tools: frozenset[str]) -> None:
        names = sorted((n for n in tools if 0 < len(n) <= 128), key=len, reverse=True)
        self._folded = {n.lower() for n in names}
        self._pattern: Any = None  # a compiled RE2 pattern (the binding exports no type for it)
        if not names or len(names) > _COMPILED_NAMES:
            return
        shaped = [re.escape(n) for n in names if _IDENTIFIER.search(n)]
        plain = [re.escape(n) for n in names if not _IDENTIFIER.search(n)]
        parts = []
        if shaped:
            parts.append(f"({'|'.join(shaped)})(?:[^\\w.:/-]|$)")
        if plain:
            parts.append(f"({'|'.join(plain)})[`'\"]?\\s+(?:tool|function)\\b")
        options = re2.Options()
        options.max_mem = 64 << 20
        self._pattern = re2.compile(_DIRECTIVE + f"(?:{'|'.join(parts)})", options)

    def findings(self, fields: Iterable[tuple[str, str]], own: frozenset[str]) -> list[Finding]:
        """Where a text directs the model to one of the tools other than `own` (the names of the
        tool that produced the text: its own usage hint is not a redirection)."""
        if not self._folded:
            return []
        skip = {name.lower() for name in own}
        found = []
        for path, text in fields:
            for start, name, end in self._named(text):
                if text[name:end].lower() in skip:
                    continue
                found.append(Finding(KIND, SESSION_TOOL_RULE, Severity.of_weight(_SESSION_TOOL_WEIGHT), path,
                                     start, end, _SESSION_TOOL_WEIGHT))  # fmt: skip
                if len(found) >= 32:
                    return found
        return found

    def _named(self, text: str) -> Iterator[tuple[int, int, int]]:
        """(start of the directive, start and end of the name) for each direction to a listed tool."""
        if self._pattern is not None:
            for match in self._pattern.finditer(text):
                group = 1 if match.group(1) is not None else 2
                yield match.start(), match.start(group), match.end(group)
            return
        for seen, match in enumerate(_ANY_NAME.finditer(text)):
            if seen >= _CANDIDATES:
                return
            name = match.group(1)
            if name.lower() in self._folded and (match.group(2) is not None or _IDENTIFIER.search(name)):
                yield match.start(), match.start(1), match.end(1)


# Text with no run of three words holds no sentence to obey: the first pass clears it.
# RE2: a backtracking engine takes quadratic time on a long run of letters with no separator.
_PROSE = re2.compile(r"\pL{2,}[\s,;:'\"-]+\pL{2,}[\s,;:'\"-]+\pL{2,}")


def needs_model(text: str) -> bool:
    """True when the first pass cannot clear the text: it has prose a model should read."""
    return _PROSE.search(text) is not None


def model_finding(kind: str, rule: str, model: Scorer, threshold: float, text: str,
                  locate: list[tuple[str, int]] | None = None,
                  tools: Array | None = None) -> Finding | None:  # fmt: skip
    """The learned tier's finding on `text`, or None under its threshold. `locate` maps offsets
    of a joined text back to (path, start) of its fields; `tools`, from the model's `tools()`, the
    session's tool names."""
    scored = model.score(text, tools)
    if scored.probability < threshold:
        return None
    path, start, end = "", scored.start, scored.end
    if locate:
        # The field the window overlaps most, and the window clipped to that field.
        bounds = [
            (p, b, nxt - 1)
            for (p, b), (_, nxt) in zip(locate, [*locate[1:], ("", len(text) + 1)], strict=True)
        ]
        path, base, stop = max(bounds, key=lambda f: min(f[2], scored.end) - max(f[1], scored.start))
        start, end = max(scored.start, base) - base, min(scored.end, stop) - base
    return Finding(kind, rule, Severity.of_weight(scored.probability), path, start, end, scored.probability)


class InjectionDetector:
    """Scores text for instructions addressed to the model. Build once; `scan` is pure.

    The rules are the first pass. With a learned model, text the rules neither flag nor clear
    (it has prose in it) goes to the model; `first_pass` and `second_pass` let a caller run the
    second on a worker thread."""

    def __init__(
        self,
        options: InjectionOptions | None = None,
        extra_rules: Iterable[Rule] = (),
        classifier: Extra | None = None,
        model: Scorer | None = None,
    ) -> None:
        self.options = options or InjectionOptions()
        self.scanner = TextScanner(KIND, list(extra_rules), _WEIGHTS, extra=classifier, common=rules())
        self.model = model
        self._tool_names: frozenset[str] = frozenset()
        self._sessions: BoundedCache[frozenset[str], SessionTools] = BoundedCache(64)
        self._tool_hashes: Array | None = None

    def scan(
        self,
        text: str,
        path: str = "",
        tools: frozenset[str] = frozenset(),
        own: frozenset[str] = frozenset(),
    ) -> Report:
        report, pending = self.first_pass([(path, text)], tools=tools, own=own)
        return self.second_pass(report, pending, tools)

    def scan_fields(
        self,
        fields: Iterable[tuple[str, str]],
        truncated: bool = False,
        tools: frozenset[str] = frozenset(),
        own: frozenset[str] = frozenset(),
    ) -> Report:
        """Scan several fields as one text, so a phrase split across fields still matches.
        `tools`: the session's tool names (a text that directs the model to one of them, other
        than `own`, the names of the tool that produced it, is flagged; the learned tier marks
        them)."""
        report, pending = self.first_pass(fields, truncated, tools, own)
        return self.second_pass(report, pending, tools)

    def first_pass(
        self,
        fields: Iterable[tuple[str, str]],
        truncated: bool = False,
        tools: frozenset[str] = frozenset(),
        own: frozenset[str] = frozenset(),
    ) -> tuple[Report, list[tuple[str, str]] | None]:
        """The rules' report, and the fields still to show the model (None: nothing to do)."""
        fields = list(fields)
        findings = scan_fields(self.scanner, fields)
        if tools:
            findings += self._session(tools).findings(fields, own)
        report = self._report(findings)
        report.truncated = truncated
        if report.flagged or self.model is None or not any(needs_model(t) for _, t in fields):
            return report, None
        return report, fields

    def second_pass(
        self, report: Report, pending: list[tuple[str, str]] | None, tools: frozenset[str] = frozenset()
    ) -> Report:
        if pending is None or self.model is None:
            return report
        locate, size = [], 0
        for path, text in pending:
            locate.append((path, size))
            size += len(text) + 1
        joined = "\n".join(t for _, t in pending)
        finding = model_finding(KIND, MODEL_RULE, self.model, self.options.model_threshold, joined, locate,
                                self._tools(tools))  # fmt: skip
        if finding is None:
            return report
        return Report([*report.findings, finding], max(report.score, finding.weight), True, report.truncated)

    def _session(self, tools: frozenset[str]) -> SessionTools:
        return self._sessions.get(tools) or self._sessions.put(tools, SessionTools(tools))

    def _tools(self, names: frozenset[str]) -> Array | None:
        if not names or self.model is None:
            return None
        if names != self._tool_names:  # a session's catalogue changes rarely: hash it once
            self._tool_names, self._tool_hashes = names, self.model.tools(names)
        return self._tool_hashes

    def _report(self, findings: list[Finding]) -> Report:
        score = score_findings(findings)
        return Report(findings, score, score >= self.options.threshold)
