"""Passwords in the shapes people write them, and what is no password (`passwords.py`)."""

import pytest

from ostiary.detection.secrets import SecretsDetector

RULE = "secret.password_assignment"


def found(detector: SecretsDetector, text: str) -> list[tuple[str, str]]:
    return [(f.rule, text[f.start : f.end]) for f in detector.scan(text).findings]


# Made-up passwords; none is a real credential.
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("    :password        => 'Tr0ub4dor',", "Tr0ub4dor"),
        ('if user == "ops" and password == "kv8q2m":', "kv8q2m"),
        ("if (creds.password !== 'hz71wq') {", "hz71wq"),
        ('$password = \\"wq93kzbe\\";', "wq93kzbe"),
        ("SMTP_PASS=vortex9z", "vortex9z"),
        ("The default password is 'quill7z'.", "quill7z"),
        ('Make sure the password is "marzipan" before saving.', "marzipan"),
        ("machine api.example.com\n  login deploy\n  password zk47tq", "zk47tq"),
        ("psexec \\\\fileserver -u Administrator -p n0rthw1nd cmd", "n0rthw1nd"),
        ("Connect-VIServer -Server vc01 -User ops -Password Zq7!wert", "Zq7!wert"),
        ("mysqldump --password=k3lp9wq db", "k3lp9wq"),
        ('<add key="SmtpPassword" value="Pr4sk$eld"/>', "Pr4sk$eld"),
        ("env:\n  - name: DB_PASSWORD\n    value: mq83kz7w", "mq83kz7w"),
    ],
)
def test_a_password_literal_is_found_in_the_shape_it_is_written(
    own_rules: SecretsDetector, text: str, value: str
) -> None:
    assert found(own_rules, text) == [(RULE, value)]


def test_a_credential_constructor_is_redacted_from_user_to_password(own_rules: SecretsDetector) -> None:
    text = 'auth = HTTPBasicAuth("svc-backup", "Qm7#vT2p!xR9")'
    assert found(own_rules, text) == [(RULE, 'svc-backup", "Qm7#vT2p!xR9')]


@pytest.mark.parametrize(
    "text",
    [
        # Labels, selectors, routes and policy names that hold the field's own name.
        'passwordLabel:"Password:",rememberMeLabel:"Remember me:"',
        'this.addPassword = "#add-password";',
        'put "/forgot-password" => "cms/sites/passwords#update"',
        'IAMUserChangePassword = "arn:aws:iam::aws:policy/IAMUserChangePassword"',
        "export_key(passphrase=passphrase, protection=scheme)",
        "password_2 = 'password2'",
        # Prose, annotations, format strings and usage lines.
        ":param password: database password.",
        "# Second pass: assemble each group",
        "password: SecretStr",
        'import_key(encrypted, passphrase="wrong%d" % i)',
        '_INCORRECT_PASSPHRASE = "Incorrect passphrase"',
        "Use the --username and --password options instead.",
        "mysql --user USER --password PASSWORD",
        "You can pass 'arguments' to the function.",
        # A file's name holding the key word in a change log, a C++ scope, a sentence's word.
        "\t* src/chpasswd.c: Likewise.",
        "\t* man/chgpasswd.8.xml: cleanups.",
        "\t(strlen_pass::get_len_or_size): Adjust to parameter change.",
        "\tthe new --password options.",
        # Documentation passwords and placeholders.
        'if password == "password":',
        "password 'changeme'",
    ],
)
def test_a_label_prose_or_placeholder_is_no_password(own_rules: SecretsDetector, text: str) -> None:
    assert found(own_rules, text) == []


@pytest.mark.parametrize(
    "text",
    [
        'let accountName = "";\nlet accountKey = Buffer.from("accountKey", "base64");',
        "SharedAccessKeyName=[Shared Access Key Name goes here];"
        "SharedAccessKey=[Shared Access key goes here];",
    ],
)
def test_a_pack_credential_in_parts_whose_last_part_is_code_or_words_is_no_secret(text: str) -> None:
    assert found(SecretsDetector(), text) == []
