"""C2SP signed notes: the specification's example, strict parsing, and verification rules."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transparency.ed25519 import VERIFIER, VaultEd25519
from vault.errors import SignatureInvalid
from vault.transparency import (
    COSIGNATURE_V1,
    ED25519,
    Note,
    NoteMalformed,
    NoteSignature,
    VerifierKey,
    cosign_text,
    open_note,
    sign_text,
)

# From c2sp.org/signed-note (C2SP/C2SP, signed-note.md, section "Example").
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZX"
    "sYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_the_specification_example_verifies() -> None:
    """The signed-note specification's example note verifies with its example vkey."""
    key = VerifierKey.parse(SPEC_VKEY)
    assert (key.name, key.type, key.key_id.hex()) == ("example.com/foo", ED25519, "530d903a")
    note = Note.parse(SPEC_NOTE)
    assert note.text == "This is an example message.\n"
    assert open_note(note, [key], VERIFIER) == (key,)
    assert note.render() == SPEC_NOTE
    assert str(key) == SPEC_VKEY


def test_a_changed_text_fails_with_an_opaque_error() -> None:
    """Changing one character of the text makes the known key's signature fail, opaquely."""
    key = VerifierKey.parse(SPEC_VKEY)
    note = Note.parse(SPEC_NOTE.replace("example", "exemple", 1))
    with pytest.raises(SignatureInvalid) as raised:
        open_note(note, [key], VERIFIER)
    assert raised.value.detail == "The note's signature does not verify."


def test_a_vkey_with_the_wrong_key_id_is_refused() -> None:
    """A vkey whose key ID is not its key's hash is refused."""
    with pytest.raises(NoteMalformed, match="key ID"):
        VerifierKey.parse(SPEC_VKEY.replace("530d903a", "530d903b"))


def test_signatures_by_unknown_keys_are_ignored_but_one_known_is_needed() -> None:
    """Lines from unknown keys (or a known name with another ID) are skipped; none known fails."""
    log, other = VaultEd25519("log"), VaultEd25519("other")
    text = "hello\n"
    mine = sign_text(text, "log.example/a", log)
    same_name_other_key = sign_text(text, "log.example/a", other)
    stranger = NoteSignature("someone.example", b"\x00\x01\x02\x03", b"\x00" * 64)
    note = Note(text, (stranger, same_name_other_key, mine))
    key = VerifierKey("log.example/a", log.public_key)
    assert open_note(Note.parse(note.render()), [key], VERIFIER) == (key,)
    with pytest.raises(SignatureInvalid):
        open_note(Note(text, (stranger, same_name_other_key)), [key], VERIFIER)


def test_a_known_key_whose_signature_fails_rejects_the_whole_note() -> None:
    """One good signature does not save a note on which another known key's signature fails."""
    a, b = VaultEd25519("a"), VaultEd25519("b")
    text = "two signers\n"
    good = sign_text(text, "a.example", a)
    forged = NoteSignature("b.example", VerifierKey("b.example", b.public_key).key_id, b"\1" * 64)
    keys = [VerifierKey("a.example", a.public_key), VerifierKey("b.example", b.public_key)]
    with pytest.raises(SignatureInvalid):
        open_note(Note(text, (good, forged)), keys, VERIFIER)


def test_cosignatures_verify_under_their_own_key_type() -> None:
    """A cosignature/v1 verifies with a type 0x04 key and not as a plain note signature."""
    witness = VaultEd25519("witness")
    text = "log.example\n5\n" + base64.b64encode(b"\x07" * 32).decode() + "\n"
    line = cosign_text(text, "w.example", witness, 1_700_000_000)
    assert line.timestamp == 1_700_000_000
    cosigner = VerifierKey("w.example", witness.public_key, COSIGNATURE_V1)
    plain = VerifierKey("w.example", witness.public_key, ED25519)
    assert cosigner.key_id != plain.key_id
    assert open_note(Note(text, (line,)), [cosigner], VERIFIER) == (cosigner,)
    with pytest.raises(SignatureInvalid):
        open_note(Note(text, (line,)), [plain], VERIFIER)
    later = NoteSignature(
        line.name, line.key_id, (1_700_000_001).to_bytes(8, "big") + line.signature[8:]
    )
    with pytest.raises(SignatureInvalid):
        open_note(Note(text, (later,)), [cosigner], VERIFIER)


GOOD = "text\n\n\u2014 a.example AAAAAAE=\n"


@pytest.mark.parametrize(
    "bad",
    [
        "text\n\u2014 a.example AAAAAAE=\n",  # no blank line
        "text\n\n\u2014 a.example AAAAAAE=",  # no final newline
        "text\n\n",  # no signature
        "text\n\n- a.example AAAAAAE=\n",  # hyphen, not em dash
        "text\n\n\u2014  a.example AAAAAAE=\n",  # two spaces
        "text\n\n\u2014 a.example AAAAAAE= \n",  # trailing space
        "text\n\n\u2014 a+b.example AAAAAAE=\n",  # plus in a key name
        "text\n\n\u2014 a\u00a0b AAAAAAE=\n",  # a Unicode space in a key name
        "text\n\n\u2014 a.example AAAAAA==\n",  # four bytes: a key ID and nothing signed
        "text\n\n\u2014 a.example AAAAAAF=\n",  # non-canonical base64
        "text\n\n\u2014 a.example AAAA AAE=\n",  # base64 with a space
        "text\n\n\u2014 a.example AAAAAAE\n",  # unpadded base64
        "te\txt\n\n\u2014 a.example AAAAAAE=\n",  # a control character
        "text\r\n\n\u2014 a.example AAAAAAE=\n",  # a carriage return
        "\n\n\u2014 a.example AAAAAAE=\n",  # an empty text
        GOOD + "\n",  # a blank line after the signatures
    ],
)
def test_malformed_notes_are_refused(bad: str) -> None:
    """Every deviation from the signed-note format is refused when parsing."""
    assert Note.parse(GOOD).render() == GOOD
    with pytest.raises(NoteMalformed):
        Note.parse(bad)


def test_invalid_utf8_and_oversized_notes_are_refused() -> None:
    """Bytes that are not UTF-8, and notes over the size limit, are refused."""
    with pytest.raises(NoteMalformed, match="UTF-8"):
        Note.parse(b"t\xffext\n\n\xe2\x80\x94 a.example AAAAAAE=\n")
    with pytest.raises(NoteMalformed, match="too long"):
        Note.parse("x" * 70_000 + "\n" + GOOD)
    too_many = "text\n\n" + "\u2014 a.example AAAAAAE=\n" * 101
    with pytest.raises(NoteMalformed, match="signatures"):
        Note.parse(too_many)


def test_a_text_with_blank_lines_keeps_them() -> None:
    """The text ends at the last blank line, so a text may itself contain blank lines."""
    note = Note.parse("one\n\ntwo\n\n\u2014 a.example AAAAAAE=\n")
    assert note.text == "one\n\ntwo\n"


def test_vkeys_round_trip_even_when_their_base64_holds_a_plus() -> None:
    """A vkey renders and parses back to the same key, including base64 with '+' in it."""
    keys = [VerifierKey("k.example", VaultEd25519(f"k{i}").public_key) for i in range(40)]
    assert any("+" in str(key).split("+", 2)[2] for key in keys)
    for key in keys:
        assert VerifierKey.parse(str(key)) == key


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_no_single_character_change_to_a_signed_head_still_verifies(data: st.DataObject) -> None:
    """Replacing any one character of a signed checkpoint either breaks parsing or the signature."""
    log = VaultEd25519("log")
    key = VerifierKey("log.example", log.public_key)
    text = "log.example\n12\n" + base64.b64encode(bytes(range(32))).decode() + "\nprev 7 x\n"
    note = Note(text, (sign_text(text, "log.example", log),)).render()
    at = data.draw(st.integers(min_value=0, max_value=len(note) - 1), label="at")
    replacement = data.draw(st.characters(codec="utf-8"), label="replacement")
    if replacement == note[at]:
        return
    changed = note[:at] + replacement + note[at + 1 :]
    with pytest.raises((NoteMalformed, SignatureInvalid)):
        open_note(Note.parse(changed), [key], VERIFIER)
