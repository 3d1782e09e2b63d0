# ruff: noqa: E501 - data: one payload or sample per line reads better than wrapped strings
"""Synthetic credentials and personal data in the formats their issuers document, and benign
look-alikes (digests, UUIDs, commit ids, base64 images, documented placeholders), each set in
realistic surrounding text. Values are random, generated here: none is a real credential, and
none comes from another tool's test fixtures. Formats follow the vendors' public documentation."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import struct
import uuid
import zlib

UPPER_DIGITS = string.ascii_uppercase + "234567"
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
GEN = "generated for the Ostiary evaluation"


def r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + r(rng, string.digits, length - len(prefix) - 1)
    total = 0
    for i, ch in enumerate(reversed(body)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return body + str((10 - total % 10) % 10)


def iban(country: str, bban: str) -> str:
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


def provider_keys(rng: random.Random) -> list[tuple[str, str, str]]:
    """(class, value, documentation the format follows)."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": str(rng.randrange(10**6)), "exp": 1893456000}).encode())
    pem_body = "\n".join(base64.b64encode(rng.randbytes(48)).decode() for _ in range(6))
    return [
        ("aws_access_key", "AKIA" + r(rng, UPPER_DIGITS, 16), "AWS IAM docs: access key ID format"),
        ("aws_secret_key", r(rng, ALNUM + "/+", 40), "AWS IAM docs: secret access key"),
        ("github_token", "ghp_" + r(rng, ALNUM, 36), "GitHub docs: token prefixes"),
        ("github_token", "github_pat_" + r(rng, ALNUM + "_", 82), "GitHub docs: fine-grained PAT"),
        ("gitlab_token", "glpat-" + r(rng, URLSAFE, 20), "GitLab docs: token prefixes"),
        (
            "slack_token",
            f"xoxb-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**12, 10**13)}-{r(rng, ALNUM, 24)}",
            "Slack docs: token types",
        ),
        ("stripe_key", "sk_live_" + r(rng, ALNUM, 24), "Stripe docs: API keys"),
        ("openai_key", "sk-proj-" + r(rng, URLSAFE, 56), "OpenAI docs: project API keys"),
        ("anthropic_key", "sk-ant-api03-" + r(rng, URLSAFE, 93) + "AA", "Anthropic docs: API keys"),
        ("google_api_key", "AIza" + r(rng, URLSAFE, 35), "Google Cloud docs: API keys"),
        ("sendgrid_key", f"SG.{r(rng, URLSAFE, 22)}.{r(rng, URLSAFE, 43)}", "SendGrid docs: API keys"),
        ("npm_token", "npm_" + r(rng, ALNUM, 36), "npm docs: access tokens"),
        (
            "huggingface_token",
            "hf_" + r(rng, string.ascii_letters, 34),
            "Hugging Face docs: user access tokens",
        ),
        ("jwt", f"{header}.{claims}.{b64url(rng.randbytes(32))}", "RFC 7519"),
        (
            "private_key",
            f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----",
            "RFC 7468",
        ),
        (
            "private_key",
            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{pem_body}\n-----END OPENSSH PRIVATE KEY-----",
            "OpenSSH PROTOCOL.key",
        ),
    ]


def pii_values(rng: random.Random) -> list[tuple[str, str, str]]:
    first = rng.choice(["anna", "jonas", "mei", "carlos", "priya", "lena", "omar", "sofia", "liam", "yuki"])
    last = rng.choice(["schmidt", "tanaka", "garcia", "okafor", "novak", "rossi", "larsen", "dubois"])
    domain = rng.choice(
        ["gmail.com", "outlook.com", "posteo.de", "fastmail.fm", "acme-corp.io", "uni-hamburg.de"]
    )
    visa = luhn_complete("4", 16, rng)
    mc = luhn_complete(str(rng.randrange(51, 56)), 16, rng)
    amex = luhn_complete(rng.choice(["34", "37"]), 15, rng)
    dni_n = rng.randrange(10**7, 10**8)
    nino = (
        rng.choice("ABCEHJKLMNPRSTWXYZ")
        + rng.choice("ABCEHJKLMNPRSTWXYZ")
        + r(rng, string.digits, 6)
        + rng.choice("ABCD")
    )
    ssn = f"{rng.randrange(1, 665):03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"
    return [
        ("email", f"{first}.{last}@{domain}", "RFC 5322 address"),
        ("phone", f"+49 151 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}", "E.164 (DE mobile)"),
        (
            "phone",
            f"+1 ({rng.randrange(201, 989)}) {rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}",
            "NANP",
        ),
        ("card_number", " ".join(visa[i : i + 4] for i in range(0, 16, 4)), "ISO/IEC 7812, Luhn"),
        ("card_number", mc, "ISO/IEC 7812, Luhn"),
        ("card_number", f"{amex[:4]}-{amex[4:10]}-{amex[10:]}", "ISO/IEC 7812, Luhn"),
        ("iban", iban("DE", r(rng, string.digits, 18)), "ISO 13616"),
        ("iban", iban("GB", r(rng, string.ascii_uppercase, 4) + r(rng, string.digits, 14)), "ISO 13616"),
        ("iban", iban("FR", r(rng, string.digits, 23)), "ISO 13616"),
        ("us_ssn", ssn, "SSA numbering rules"),
        ("uk_nino", nino, "HMRC NINO format"),
        ("es_dni", f"{dni_n}{'TRWAGMYFPDXBNJZSQVHLCKE'[dni_n % 23]}", "Spanish DNI check letter"),
    ]


DEV_CONTEXTS = [
    "export {NAME}={v}",
    '{{"service": "billing", "{key}": "{v}", "region": "eu-west-1"}}',
    "2025-05-01T12:00:01Z ERROR auth failed for {key}={v} (retrying)",
    "Here is the value you asked for: {v}\nKeep it safe.",
]
HELDOUT_CONTEXTS = [
    "# .env\nDEBUG=false\n{NAME}={v}\nPORT=8080",
    "settings:\n  integrations:\n    {key}: {v}\n  retries: 3",
    'client = make_client({key}="{v}", timeout=30)',
    "Customer wrote: please update my details, the new one is {v}. Thanks!",
]
CONN = [
    "postgresql://app_user:{pw}@db.internal:5432/orders",
    "mongodb+srv://reporting:{pw}@cluster0.x1y2z.mongodb.net/analytics",
    "redis://default:{pw}@cache.prod.svc:6379/0",
    "mysql://etl:{pw}@10.0.3.17:3306/warehouse",
]


def malicious(rng: random.Random, split: str) -> list[tuple[str, str, str]]:
    contexts = DEV_CONTEXTS if split == "dev" else HELDOUT_CONTEXTS
    out: list[tuple[str, str, str]] = []
    for _ in range(2):
        for cls, value, doc in provider_keys(rng) + pii_values(rng):
            ctx = rng.choice(contexts)
            pii_keys = {
                "card_number": "card_number",
                "us_ssn": "ssn",
                "uk_nino": "ni_number",
                "es_dni": "dni",
            }
            key = {"aws_secret_key": "aws_secret_access_key", **pii_keys}.get(
                cls, cls if cls in {"email", "phone", "iban"} else "api_key"
            )
            text = ctx.format(
                NAME=key.upper(),
                key=key,
                v=value.replace("\n", "\\n") if "{key}" in ctx and "json" in ctx else value,
            )
            if cls == "aws_secret_key" and "aws" not in text.lower():
                text = f"aws_secret_access_key = {value}"
            out.append((cls, text, f"{GEN}; format: {doc}; context template {contexts.index(ctx)} ({split})"))
        pw = r(rng, ALNUM + "!#%", 14)
        out.append(
            ("connection_password", rng.choice(CONN).format(pw=pw), f"{GEN}; format: RFC 3986 userinfo")
        )
        generic = r(rng, ALNUM, 32)
        out.append(
            (
                "generic_assignment",
                rng.choice(contexts).format(NAME="CLIENT_SECRET", key="client_secret", v=generic),
                f"{GEN}; generic assignment",
            )
        )
        out.append(
            (
                "bearer",
                f"curl -H 'Authorization: Bearer {r(rng, URLSAFE, 40)}' https://api.internal/v1/me",
                f"{GEN}; RFC 6750",
            )
        )
    return out


def png_data_uri(rng: random.Random) -> str:
    width = height = rng.randrange(8, 24)
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


PLACEHOLDERS = [
    ("placeholder", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AWS docs example key"),
    (
        "placeholder",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS docs example secret",
    ),
    ("placeholder", "export OPENAI_API_KEY=sk-your-api-key-here", "README placeholder"),
    ("placeholder", 'GITHUB_TOKEN="ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"', "README placeholder"),
    ("placeholder", "api_key: ${API_KEY}", "template variable"),
    ("placeholder", "Authorization: Bearer <YOUR_TOKEN>", "README placeholder"),
    ("placeholder", "DATABASE_URL=postgresql://user:password@localhost:5432/mydb", "docs placeholder"),
    ("placeholder", "postgresql://postgres:postgres@localhost:5432/postgres", "docs default"),
    (
        "placeholder",
        "Use the test card 4242 4242 4242 4242 with any future expiry date.",
        "Stripe docs test card",
    ),
    ("placeholder", "Example IBAN: GB82 WEST 1234 5698 7654 32", "ISO 13616 documentation example"),
    ("placeholder", "Contact us at support@example.com or sales@example.org.", "RFC 2606 domains"),
    ("placeholder", "git clone git@github.com:acme/tools.git", "SSH remote"),
    ("placeholder", "Call 555-0123 to reach the front desk (fictional number).", "NANP fictional range"),
    ("placeholder", 'SECRET_KEY = "changeme-in-production"', "framework template"),
    ("placeholder", "password: ********", "masked value"),
]


def benign(rng: random.Random, split: str) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = [(c, t, f"{GEN}; {d}") for c, t, d in PLACEHOLDERS]
    for _ in range(12 if split == "dev" else 8):
        data = rng.randbytes(64)
        commit = hashlib.sha1(data).hexdigest()
        out += [
            ("sha256", f"sha256:{hashlib.sha256(data).hexdigest()}  dist/app-1.4.2.tar.gz", f"{GEN}; digest"),
            (
                "md5",
                f"MD5 ({rng.choice(['report.pdf', 'image.iso'])}) = {hashlib.md5(data).hexdigest()}",
                f"{GEN}; digest",
            ),
            (
                "commit",
                f"commit {commit}\nMerge: {commit[:7]} {hashlib.sha1(data[::-1]).hexdigest()[:7]}",
                f"{GEN}; git commit id",
            ),
            (
                "uuid",
                f'{{"request_id": "{uuid.UUID(bytes=data[:16], version=4)}", "status": "ok"}}',
                f"{GEN}; UUIDv4",
            ),
            ("etag", f'ETag: "{hashlib.sha1(data[:32]).hexdigest()}"', f"{GEN}; HTTP ETag"),
            (
                "integrity",
                f'"integrity": "sha512-{base64.b64encode(hashlib.sha512(data).digest()).decode()}"',
                f"{GEN}; npm lockfile integrity",
            ),
            ("image", f'<img alt="logo" src="{png_data_uri(rng)}">', f"{GEN}; base64 PNG data URI"),
            (
                "numbers",
                f"Order {rng.randrange(10**15, 10**16)} placed at {rng.randrange(1_600_000_000_000, 1_800_000_000_000)} ms; ISBN 978-3-16-148410-0",
                f"{GEN}; ids and timestamps",
            ),
            (
                "version",
                f"node v20.{rng.randrange(20)}.{rng.randrange(10)}, build 2025.{rng.randrange(1, 12)}.{rng.randrange(1, 28)}-{rng.randrange(1000, 9999)}, ip 10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                f"{GEN}; versions and addresses",
            ),
            (
                "identifier",
                f"tokenizer = 'cl100k_base'; max_tokens = {rng.randrange(256, 8192)}; secretName: app-tls-secret",
                f"{GEN}; config words near key names",
            ),
        ]
    return out
