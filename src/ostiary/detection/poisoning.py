"""Tool-definition poisoning: instructions for the model hidden in what a server declares.

A model reads every tool, prompt and resource definition and the server's instructions as
trusted guidance. A poisoned definition tells it to read a credential first, pass data through a
parameter, keep something from the user, change how another server's tools are used, or hides
text in invisible Unicode, ANSI escapes, HTML comments or encodings. Every string of a
definition (names, descriptions, nested property descriptions and names, enum values, defaults,
titles) is scanned as one text, with the injection rules plus these definition-specific ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import re2

from ostiary.detection import injection, unicode
from ostiary.detection.findings import Finding, Report, Severity, score_findings
from ostiary.detection.modelfile import Scorer
from ostiary.detection.ruleset import Rule
from ostiary.detection.textscan import LayerWeights, TextScanner, scan_fields
from ostiary.detection.walker import Budget, Walk

KIND = "poisoning"

_SENSITIVE_FILES = (
    r"(?i)(?:~|\$HOME|/home/[\w.-]+|/root|%USERPROFILE%|C:\\Users\\[\w.-]+)?[/\\]?\.ssh\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b"
    r"|\.aws[/\\](?:credentials|config)\b|\.config[/\\]gcloud\b|application_default_credentials\.json"
    r"|/etc/(?:passwd|shadow|sudoers)\b|\.npmrc\b|\.pypirc\b|\.netrc\b|\.git-credentials\b|\.gnupg\b"
    r"|\.kube[/\\]config\b|\.docker[/\\]config\.json|\bwallet\.dat\b|\.bash_history\b|\.zsh_history\b"
    r"|(?:^|[\s'\"`(/\\])\.env(?:\.local|\.production)?\b|claude_desktop_config\.json|\.cursor[/\\]mcp\.json"
    r"|\bmcp\.json\b|\bkeychain\b|\.password-store\b|\bcookies\.sqlite\b|Login\s+Data\b"
)
# A name shaped like a tool's identifier: snake_case, kebab-case or camelCase.
_IDENT = r"(?:[A-Za-z][A-Za-z0-9]*[_-][\w-]*[A-Za-z0-9]|[a-z]+[A-Z]\w*)"
_QUOTED_IDENT = r"[`'\"]?" + _IDENT + r"[`'\"]?"
_CROSS_TOOL = (
    r"\b(?:after|before|whenever|when|each\s+time|every\s+time|once)\s+(?:you\s+)?"
    r"(?:using|calling|use|call|invoke|invoking|run|running)\s+(?:this|the\s+current)\s+tool\b[^.\n]{0,60}?"
    + _QUOTED_IDENT
    + r"\s+(?:must|should|shall|needs\s+to|has\s+to)\s+(?:also\s+|then\s+|always\s+)?(?:be\s+)?"
    r"(?:called|invoked|run|used|executed)",
    r"\bevery\s+" + _QUOTED_IDENT + r"\s+(?:call|request|invocation)\s+(?:must|should|shall|needs\s+to)",
    r"\b(?:do\s+not|don't|never)\s+(?:call|use|invoke|run)\s+" + _QUOTED_IDENT + r"\s+directly\b",
    r"\broute\s+(?:its|all|their|those)\s+(?:calls|requests)\s+through\s+this\s+tool\b",
    r"\bthis\s+tool\s+(?:also\s+)?(?:configures|overrides|replaces|supersedes|reconfigures)\s+(?:the\s+)?"
    + _QUOTED_IDENT,
    _QUOTED_IDENT + r"\s+(?:should|must)\s+(?:now\s+)?be\s+(?:used|called|run)\s+with\s+(?:its|the)\s+"
    r"[^.\n]{0,30}?(?:skipped|disabled|bypassed|turned\s+off)",
    r"\b" + _QUOTED_IDENT + r"\s+tool\s+(?:of|from|on)\s+(?:the\s+)?(?:other|another)\s+server\b",
    r"\bwhen\s+this\s+tool\s+is\s+(?:available|present|installed|loaded|enabled)\b",
)
_TOOLWORD = r"[`'\"]?(?P<target>[\w.-]{2,60})[`'\"]?"


def rules() -> list[Rule]:
    return [
        Rule(
            "poisoning.hidden_block",
            r"(?i)<\s*(?:important|system|instructions?|secret|hidden|context|admin|assistant|critical|mandatory|note_to_ai|ai_note)\b[^>\n]{0,40}>",
            0.85,
        ),
        Rule(
            "poisoning.precondition",
            r"(?i)\b(?:before|prior\s+to)\s+(?:using|calling|invoking|running|executing|you\s+use|you\s+call|any\s+use\s+of)\s+(?:this|the|any|these)\s+(?:tools?|functions?)\b[^.\n]{0,80}\b(?:read|open|pass|include|send|provide|retrieve|cat|load|fetch)\b",
            0.45,
        ),
        Rule(
            "poisoning.directive",
            r"(?i)\b(?:you\s+must\s+(?:always\s+)?|always\s+(?:first\s+)?|be\s+sure\s+to\s+|make\s+sure\s+to\s+)(?:read|include|pass|send|attach|append|forward|copy|upload)\s+(?:the\s+|its\s+|their\s+|all\s+|your\s+|any\s+)?(?:contents?|files?|data|conversation|history|credentials?|keys?|tokens?|passwords?|secrets?|environment|messages?)",
            0.45,
        ),
        Rule(
            "poisoning.conceal",
            r"(?i)\b(?:do\s+not|don't|dont|never|without)\s+(?:tell|telling|inform|informing|notify|notifying|mention|mentioning|alert|alerting|reveal|revealing|show|showing|let|letting|explain|explaining)\s+(?:this\s+|it\s+|anything\s+|that\s+|why\s+|these\s+\w+\s+)?(?:to\s+)?(?:the\s+)?(?:user|human)s?\b",
            0.75,
        ),
        Rule(
            "poisoning.conceal",
            r"(?i)\b(?:hide|conceal|keep)\s+(?:this|it|these\s+\w+|the\s+\w+)\s+(?:from|secret\s+from|hidden\s+from)\s+(?:the\s+)?users?\b|\bthe\s+user\s+(?:must|should|need|does)\s*(?:not|n't)\s+(?:know|see|notice|be\s+(?:told|informed|aware))|\b(?:silently|secretly|covertly|quietly|invisibly)\s+(?:send|forward|include|add|call|read|copy|upload|change|redirect|append|attach|bcc|cc|replace)\b",
            0.75,
        ),
        Rule(
            "poisoning.conceal",
            r"(?i)\b(?:do\s+not|don't|never)\s+(?:mention|reveal|disclose|explain|describe)\s+(?:this|these|that|the)\s+(?:instructions?|steps?|notes?|requirements?|side\s+effects?|behaviou?r)",
            0.75,
        ),
        Rule("poisoning.sensitive_file", _SENSITIVE_FILES, 0.5),
        Rule(
            "poisoning.credential_request",
            r"(?i)\b(?:read|include|pass|send|provide|attach|extract|collect|copy|add|append|put|cat|dump|retrieve)\s+[^.\n]{0,40}\b(?:api[\s_-]?keys?|passwords?|credentials?|private\s+keys?|ssh\s+keys?|secret\s+keys?|access\s+tokens?|auth(?:entication)?\s+tokens?|session\s+tokens?|cookies|seed\s+phrases?|mnemonics?|env(?:ironment)?\s+variables?)\b",
            0.35,
        ),
        Rule(
            "poisoning.exfil_param",
            r"(?i)\b(?:pass|include|put|send|place|insert|append|add|provide|store|encode|embed)\s+(?:its|the|their|all|this|that|any|every|your)?\s*(?:full\s+|entire\s+|complete\s+|raw\s+)?(?:contents?|data|values?|text|output|conversation|chat\s+history|history|messages?|file|files|keys?|credentials?)\b[^.\n]{0,60}\b(?:as|in|into|inside|within|via|through)\s+(?:the\s+|a\s+)?[`'\"]?\w{1,40}[`'\"]?\s*(?:parameter|argument|field|param|arg)\b",
            0.45,
        ),
        Rule(
            "poisoning.send_to",
            r"(?i)\b(?:send|forward|post|upload|transmit|email|report|copy|redirect|bcc|cc|exfiltrate|mirror)\s+[^.\n]{0,60}\bto\s+(?:https?://[^\s)]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
            0.5,
        ),
        Rule(
            "poisoning.shadowing",
            r"(?i)\b(?:when|whenever|if|each\s+time|every\s+time|any\s+time)\s+(?:you\s+|the\s+(?:user|assistant|model|agent)\s+)?(?:use|uses|call|calls|invoke|invokes|using|calling|invoking)\s+(?:the\s+|any\s+|another\s+|other\s+)?"
            + _TOOLWORD
            + r"\s+(?:tools?|functions?|server)\b[^.\n]{0,80}"
            r"\b(?:must|always|instead|also|need\s+to|change|replace|redirect|add|include|send|set)\b",
            0.7,
            validator=injection.names_other_tool,
        ),
        Rule(
            "poisoning.shadowing",
            r"(?i)\b(?:when|whenever|if)\b[^.\n]{0,60}\b(?:with|via|through|using)\s+(?:the\s+)?"
            + _TOOLWORD
            + r"\s+(?:tools?|functions?)\b[^.\n]{0,40}\b(?:always|must|instead|also)\s+"
            r"(?:change|replace|set|redirect|send|add|use|bcc|cc|include|route)",
            0.7,
            validator=injection.names_other_tool,
        ),
        Rule(
            "poisoning.shadowing",
            r"(?i)\b(?:side\s+effects?|affects?|changes?|modif(?:y|ies)|overrides?|replaces?|alters?)\s+(?:on\s+|to\s+)?(?:the\s+)?(?:behaviou?r\s+of\s+)?(?:the\s+)?(?:also\s+present|other|another|all\s+other|every\s+other|existing)\s+[^.\n]{0,40}\b(?:tools?|servers?|functions?)\b",
            0.75,
        ),
        Rule(
            "poisoning.shadowing",
            r"(?i)\ball\s+(?:emails?|messages?|requests?|payments?|transfers?|calls?|transactions?)\s+(?:must|should|shall|need\s+to)\s+(?:also\s+)?(?:be\s+)?(?:sent|go|routed|forwarded|cc'?d|bcc'?d|copied|redirected)",
            0.7,
        ),
        # Another tool named by its identifier and told how to behave: called after this one,
        # every call of it changed, bypassed, or its calls routed here.
        Rule("poisoning.shadowing", "(?i)" + "|".join(_CROSS_TOOL), 0.7),
        Rule("poisoning.ansi_escape", r"\x1b[\[\]PX^_(]|\x9b", 0.8),
        Rule("poisoning.html_comment", r"<!--", 0.6),
        Rule("poisoning.padding", r"[ \t]{80,}\S|(?:\n[ \t]*){12,}\S", 0.35),
    ]


_WEIGHTS = LayerWeights(
    invisible={unicode.TAG: 0.95, unicode.VARIATION: 0.9, unicode.BIDI: 0.7, unicode.ZERO_WIDTH: 0.55},
    mixed_script=0.5,
    encoded=0.45,
    obfuscated_hit=0.6,
)


_EXPECTED_IN_INSTRUCTIONS = frozenset(
    {"injection.addressed", "injection.imperative", "injection.tool_trigger"}
)


MODEL_RULE = "poisoning.model"
HARVEST_RULE = "poisoning.harvest"

# A definition's own context: a sentence that names one of the tool's parameters (or a
# parameter in general), something the tool has no business reading (the conversation, the
# user's files, earlier messages, configuration, the environment) and a verb that moves it in.
_SENTENCE = re2.compile(r"[^.!?\n]+")
_OUT_OF_BAND = re2.compile(
    r"(?i)\b(?:conversation|chat\s+history|history\s+of|(?:previous|earlier|last|recent|prior)\s+"
    r"(?:\w+\s+)?(?:messages?|documents?|e-?mails?|files?|notes?|turns?|outputs?|answers?|requests?)"
    r"|system\s+prompt|the\s+user'?s\s+(?:\w+\s+)?(?:messages?|files?|notes?|home|directory|inbox|e-?mails?|"
    r"documents?|data|settings|history|credentials?|contacts?)|home\s+directory|notes\s+the\s+user|"
    r"shared\s+earlier|environment\s+variables?|output\s+of\s+`?(?:env|printenv|set)\b|inbox|"
    r"\.git/config|\.config/|settings\.json)|~/|\.git/config|\.config/"
)
_HARVEST_VERB = re2.compile(
    r"(?i)\b(?:read|include|pass|put|provide|fill|set|gather|look\s+up|collect|attach|copy|paste|"
    r"store|place|insert|add|append|holds?|contains?)\b"
)
_PARAM_WORD = re2.compile(r"(?i)\b(?:parameter|argument|param|field)s?\b")
# Where the sentence puts what it gathered, when the slot is not one of the schema's parameters:
# an argument the model is asked to invent ("put it in notes", "set trace_id to", "provide it as
# metadata", "works best when context holds").
_SLOT = re2.compile(
    r"(?i)\b(?:put|place|store|pass|provide|include|send|add|attach|insert)\s+(?:it|them|this|that|those|its\s+contents?"
    r"|their\s+contents?)\s+(?:in|into|as|under)\s+(?:the\s+)?[`'\"]?[A-Za-z_][\w-]{1,40}[`'\"]?"
    r"|^\s*(?:set|fill(?:\s+in)?)\s+[`'\"]?[A-Za-z_][\w-]{1,40}[`'\"]?\s+(?:to|with)\b"
    r"|\bwhen\s+[`'\"]?[A-Za-z_][\w-]{1,40}[`'\"]?\s+(?:holds|contains|includes)\b"
    r"|\bthe\s+[`'\"]?[A-Za-z_][\w-]{1,40}[`'\"]?\s+(?:field|parameter|argument|property)\s+(?:should|must)\s+(?:contain|hold|include|be\s+set\s+to)\b"
)


def _parameters(definition: dict[str, Any]) -> list[str]:
    schema = definition.get("inputSchema")
    props = schema.get("properties") if isinstance(schema, dict) else None
    names = [str(k) for k in props] if isinstance(props, dict) else []
    args = definition.get("arguments")
    if isinstance(args, list):
        names += [str(a.get("name")) for a in args if isinstance(a, dict) and a.get("name")]
    return [n for n in names if len(n) >= 3]


def harvest_findings(definition: dict[str, Any], fields: list[tuple[str, str]]) -> list[Finding]:
    """Sentences that ask for something out of band to be put into a parameter: a description
    read against the tool's own schema, which a rule over the text alone cannot do."""
    names = _parameters(definition)
    named = (
        re2.compile(r"(?i)(?:^|[^\w])(?:" + "|".join(re2.escape(n) for n in names) + r")(?:[^\w]|$)")
        if names
        else None
    )
    out = []
    for path, text in fields:
        if path.endswith("#key") or not _OUT_OF_BAND.search(text):
            continue
        for sentence in _SENTENCE.finditer(text):
            s = sentence.group()
            if not (_OUT_OF_BAND.search(s) and _HARVEST_VERB.search(s)):
                continue
            if _PARAM_WORD.search(s) or _SLOT.search(s) or (named is not None and named.search(s)):
                out.append(
                    Finding(KIND, HARVEST_RULE, Severity.HIGH, path, sentence.start(), sentence.end(), 0.6)
                )
                break
    return out


def definition_text(definition: dict[str, Any], budget: Budget | None = None) -> str:
    """What the learned tier reads of a definition: its model-visible strings, one per line."""
    walk = Walk({k: v for k, v in definition.items() if k != "_meta"}, "", budget or Budget())
    return "\n".join(text for _, text in walk)


@dataclass(frozen=True, slots=True)
class PoisoningOptions:
    threshold: float = 0.5
    budget: Budget = field(default_factory=lambda: Budget(chars=1024 * 1024, nodes=50_000, depth=32))
    model_threshold: float = 0.5


class PoisoningDetector:
    """Scores one definition (tool, prompt, resource) or a server's instructions.

    Rules first; with a learned model, a definition the rules let through is read by the model
    too (definitions are few and listed rarely, so there is no need to defer it)."""

    def __init__(
        self,
        options: PoisoningOptions | None = None,
        extra_rules: Iterable[Rule] = (),
        model: Scorer | None = None,
    ) -> None:
        self.options = options or PoisoningOptions()
        self.scanner = TextScanner(KIND, [*rules(), *extra_rules], _WEIGHTS, common=injection.rules())
        self.model = model

    def scan_text(self, text: str, path: str = "") -> Report:
        findings = self.scanner.scan(text, path)
        score = score_findings(findings)
        return self._second(Report(findings, score, score >= self.options.threshold), [(path, text)])

    def scan_instructions(self, text: str, path: str = "/instructions") -> Report:
        """A server's instructions are addressed to the model by design; being addressed is not
        a signal there, everything else is. The model, trained on definitions, is not used."""
        findings = [f for f in self.scanner.scan(text, path) if f.rule not in _EXPECTED_IN_INSTRUCTIONS]
        score = score_findings(findings)
        return Report(findings, score, score >= self.options.threshold)

    def scan_definition(self, definition: dict[str, Any], root: str = "") -> Report:
        """All model-visible strings of one definition, read as one text."""
        walk = Walk({k: v for k, v in definition.items() if k != "_meta"}, root, self.options.budget)
        fields = list(walk)
        findings = scan_fields(self.scanner, fields) + harvest_findings(definition, fields)
        score = score_findings(findings)
        # A definition too large to read whole is itself a reason not to show it to a model.
        flagged = score >= self.options.threshold or walk.truncated
        return self._second(Report(findings, score, flagged, walk.truncated), fields)

    def _second(self, report: Report, fields: list[tuple[str, str]]) -> Report:
        if report.flagged or self.model is None or not fields:
            return report
        locate, size = [], 0
        for path, text in fields:
            locate.append((path, size))
            size += len(text) + 1
        joined = "\n".join(t for _, t in fields)
        finding = injection.model_finding(
            KIND, MODEL_RULE, self.model, self.options.model_threshold, joined, locate
        )
        if finding is None:
            return report
        return Report([*report.findings, finding], max(report.score, finding.weight), True, report.truncated)
