"""The keyring, tokens and blind indexes (platform/crypto.py) and the normalization the blind
index is computed from (platform/fields.py)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from kehu.platform import crypto
from kehu.platform.fields import index_key, lookup_key


@pytest.fixture
def keys(key_dir: Path, settings: Any) -> Any:
    """Keys in a data directory of their own (tests/conftest.py); the settings to change them."""
    return settings


def use_key(settings: Any, secret: str, old: list[str] | None = None) -> None:
    """The current key set by the environment (KEHU_ENCRYPTION_KEY / _OLD_KEYS)."""
    settings.KEHU_ENCRYPTION_KEY_FROM_ENV = True
    settings.KEHU_ENCRYPTION_KEY = secret
    settings.KEHU_ENCRYPTION_OLD_KEYS = old or []
    crypto.reset()


def test_encrypted_text_decrypts_to_the_same_text(keys: Any) -> None:
    for text in ["+8613812345678", "li.lei@example.com", "张三 110101199003071234", "x" * 5000]:
        token = crypto.encrypt(text, purpose="field:text")
        assert crypto.decrypt(token, purpose="field:text") == text


def test_token_carries_the_key_id_and_hides_the_text(keys: Any) -> None:
    token = crypto.encrypt("+8613812345678", purpose="field:phone")

    prefix, key_id, payload = token.split("$")
    assert prefix == "enc1"
    assert key_id == crypto.keyring().current.id
    assert len(key_id) == 8
    assert "13812345678" not in token
    assert len(base64.urlsafe_b64decode(payload)) == 12 + len("+8613812345678") + 16  # nonce, text, tag


def test_the_same_text_encrypts_differently_each_time(keys: Any) -> None:
    assert crypto.encrypt("same", purpose="p") != crypto.encrypt("same", purpose="p")


@pytest.mark.parametrize("position", [14, 20, -1])
def test_an_altered_token_is_refused(keys: Any, position: int) -> None:
    token = crypto.encrypt("+8613812345678", purpose="field:phone")
    flipped = "A" if token[position] != "A" else "B"
    altered = token[:position] + flipped + token[position + 1 :] if position != -1 else token[:-1] + flipped

    with pytest.raises(crypto.DecryptionError, match=r"altered|damaged"):
        crypto.decrypt(altered, purpose="field:phone")


@pytest.mark.parametrize("value", ["+8613812345678", "enc1$abc", "enc1$0011aabb$", "enc1$0011aabb$!!!"])
def test_what_is_not_a_whole_token_is_refused(keys: Any, value: str) -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(value, purpose="field:phone")


def test_a_token_made_for_another_purpose_is_refused(keys: Any) -> None:
    phone = crypto.encrypt("+8613812345678", purpose="field:phone")

    with pytest.raises(crypto.DecryptionError, match="another field or purpose"):
        crypto.decrypt(phone, purpose="field:email")


def test_a_token_of_a_key_that_is_not_in_the_keyring_names_the_key(keys: Any) -> None:
    use_key(keys, "a key that will be lost")
    token = crypto.encrypt("+8613812345678", purpose="field:phone")
    lost_id = crypto.token_key_id(token)
    use_key(keys, "the key of today")

    with pytest.raises(crypto.DecryptionError, match=f"key {lost_id} is not in the keyring"):
        crypto.decrypt(token, purpose="field:phone")


def test_retired_keys_still_decrypt_and_new_tokens_use_the_current_key(keys: Any) -> None:
    use_key(keys, "old key")
    old_token = crypto.encrypt("li@example.com", purpose="field:email")
    use_key(keys, "new key", old=["old key"])

    assert crypto.decrypt(old_token, purpose="field:email") == "li@example.com"
    assert crypto.token_key_id(crypto.encrypt("x", purpose="p")) == crypto.Key.from_secret("new key").id
    assert crypto.token_key_id(crypto.reencrypt(old_token, purpose="field:email")) == crypto.keyring().current.id


def test_keys_in_the_old_keys_file_decrypt_too(keys: Any, tmp_path: Path) -> None:
    old_token = crypto.encrypt("+8613812345678", purpose="field:phone")
    old_secret = (tmp_path / crypto.KEY_FILE).read_text().strip()
    (tmp_path / crypto.OLD_KEYS_FILE).write_text(f"# retired keys\n{old_secret}\n")
    (tmp_path / crypto.KEY_FILE).write_text(crypto.generate_key() + "\n")

    ring = crypto.keyring(refresh=True)

    assert ring.current.secret != old_secret
    assert ring.retired[0].secret == old_secret
    assert crypto.decrypt(old_token, purpose="field:phone") == "+8613812345678"


def test_a_process_reads_a_key_another_process_rotated_to_at_once(keys: Any, tmp_path: Path) -> None:
    key_a, key_b = (tmp_path / crypto.KEY_FILE).read_text().strip(), crypto.generate_key()
    (tmp_path / crypto.KEY_FILE).write_text(key_b + "\n")
    crypto.reset()
    token_b = crypto.encrypt("li@example.com", purpose="field:email")  # what the other process will write
    (tmp_path / crypto.KEY_FILE).write_text(key_a + "\n")
    crypto.reset()
    assert crypto.keyring().current.secret == key_a  # this process, before the rotation
    (tmp_path / crypto.OLD_KEYS_FILE).write_text(key_a + "\n")  # the other process rotates
    (tmp_path / crypto.KEY_FILE).write_text(key_b + "\n")

    assert crypto.decrypt(token_b, purpose="field:email") == "li@example.com"  # an unknown key id reloads
    assert crypto.keyring().current.secret == key_b


def test_the_key_file_wins_over_the_key_read_at_start_up(keys: Any, tmp_path: Path) -> None:
    started_with = keys.KEHU_ENCRYPTION_KEY
    on_disk = (tmp_path / crypto.KEY_FILE).read_text().strip()

    ring = crypto.keyring(refresh=True)

    assert ring.current.secret == on_disk
    assert started_with in [key.secret for key in ring.retired]  # still readable by this process


def test_the_environment_key_wins_over_the_key_file(keys: Any) -> None:
    use_key(keys, "from the environment")

    assert crypto.keyring().current.secret == "from the environment"


def test_key_ids_differ_between_keys_and_are_stable() -> None:
    assert crypto.Key.from_secret("one").id == crypto.Key.from_secret("one").id
    assert crypto.Key.from_secret("one").id != crypto.Key.from_secret("two").id


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(crypto.KeyringError):
        crypto.Key.from_secret("  ")


def test_json_values_round_trip(keys: Any) -> None:
    body = {"id": 7, "phone": "+8613812345678", "tags": ["vip"], "name": "张三"}
    token = crypto.encrypt_json(body, purpose="idempotency")

    assert crypto.decrypt_json(token, purpose="idempotency") == body
    assert "8613812345678" not in token


# ---------------------------------------------------------------- blind indexes


@pytest.mark.parametrize(
    "written", ["138 1234 5678", "+86 138 1234 5678", "13812345678", "+8613812345678", "0086 138-1234-5678"]
)
def test_blind_index_of_a_phone_is_the_same_in_any_format(keys: Any, written: str) -> None:
    expected = crypto.blind_index("phone", "+8613812345678")

    assert crypto.blind_index("phone", lookup_key("phone", written)) == expected
    assert len(expected) == 32
    assert int(expected, 16) >= 0  # hex


@pytest.mark.parametrize("written", ["Li.Lei@Example.COM", " li.lei@example.com ", "LI.LEI@EXAMPLE.COM"])
def test_blind_index_of_an_email_ignores_case(keys: Any, written: str) -> None:
    assert crypto.blind_index("email", lookup_key("email", written)) == crypto.blind_index(
        "email", "li.lei@example.com"
    )


def test_blind_index_of_text_ignores_case_spaces_and_hyphens(keys: Any) -> None:
    assert index_key("text", "1101 0119 9003 07123x") == index_key("text", "11010119900307123X")
    assert index_key("text", "6222-0202-0000") == index_key("text", "622202020000")


def test_blind_index_differs_between_kinds_values_and_keys(keys: Any) -> None:
    phone = crypto.blind_index("phone", "+8613812345678")

    assert crypto.blind_index("text", "+8613812345678") != phone
    assert crypto.blind_index("phone", "+8613812345679") != phone
    use_key(keys, "another key")
    assert crypto.blind_index("phone", "+8613812345678") != phone


def test_blind_index_candidates_cover_every_key_of_the_keyring(keys: Any) -> None:
    use_key(keys, "old key")
    old = crypto.blind_index("email", "li@example.com")
    use_key(keys, "new key", old=["old key"])
    new = crypto.blind_index("email", "li@example.com")

    assert crypto.blind_index_candidates("email", "li@example.com") == [new, old]


def test_empty_values_have_no_blind_index(keys: Any) -> None:
    assert crypto.blind_index("phone", "") == ""
    assert crypto.blind_index_candidates("phone", "") == []


@pytest.mark.parametrize(("kind", "text"), [("phone", "12"), ("phone", "call me"), ("email", "li@"), ("email", "li")])
def test_lookup_text_that_cannot_be_such_a_value_is_refused(kind: str, text: str) -> None:
    with pytest.raises(ValidationError):
        lookup_key(kind, text)


def test_a_stored_phone_that_no_longer_validates_is_still_indexed_as_written() -> None:
    assert index_key("phone", " 12345 ") == "12345"
    assert index_key("phone", "138 1234 5678") == "+8613812345678"
