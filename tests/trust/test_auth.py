"""Accounts (accounts/service.py), viewers and the login gate (app/auth.py), the users CLI."""

from __future__ import annotations

import os
import stat

import pytest
from streamlit.testing.v1 import AppTest

from accounts.service import (
    authenticate,
    create_account,
    hash_password,
    list_accounts,
    remove_account,
    set_password,
    verify_password,
)
from app.auth import Viewer
from app.cli import main
from app.ui.nav import page_keys
from common.errors import InputError

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery"


def test_hash_is_salted_and_verifies():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second  # per-user random salt
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    assert not verify_password(PASSWORD, "not$a$hash")
    assert not verify_password(PASSWORD, "md5$1$2$3$AAAA$BBBB")
    assert PASSWORD not in first


def test_roles_and_pages():
    merchant = Viewer("ana", "merchant", ("shop_a",))
    annotator = Viewer("lee", "annotator", ("shop_a",))
    admin = Viewer("root", "admin", None)
    assert merchant.pages_allowed == set(page_keys()) - {"labelling", "models", "monitoring"}
    assert annotator.pages_allowed == {"labelling"}
    assert admin.pages_allowed == set(page_keys())
    assert merchant.can_see_shop("shop_a") and not merchant.can_see_shop("shop_b")
    assert admin.can_see_shop("shop_b")
    assert merchant.visible_shops(["shop_b", "shop_a", "x"]) == ["shop_a"]
    with pytest.raises(InputError, match="shop_b"):
        merchant.check_shop("shop_b")
    with pytest.raises(ValueError):
        Viewer("x", "merchant", None)
    with pytest.raises(ValueError):
        Viewer("x", "superuser", None)


@pytest.mark.integration
def test_accounts_round_trip(store):
    create_account(store, "ana", PASSWORD, "merchant", "shop_a")
    create_account(store, "root", PASSWORD, "admin")
    assert authenticate(store, "ana", PASSWORD).shop_id == "shop_a"
    assert authenticate(store, "ana", "wrong password") is None
    assert authenticate(store, "nobody", PASSWORD) is None
    assert authenticate(store, "x" * 1_000_000, PASSWORD) is None
    assert [a.username for a in list_accounts(store)] == ["ana", "root"]
    with pytest.raises(InputError, match="taken"):
        create_account(store, "ana", PASSWORD, "merchant", "shop_a")
    with pytest.raises(InputError, match="--shop"):
        create_account(store, "bob", PASSWORD, "merchant")
    with pytest.raises(InputError, match="sees every shop"):
        create_account(store, "root2", PASSWORD, "admin", "shop_a")
    with pytest.raises(InputError, match="not a shop id"):
        create_account(store, "lee", PASSWORD, "annotator", "shop_a,../etc")
    with pytest.raises(InputError, match="at least"):
        create_account(store, "lee", "short", "annotator")
    with pytest.raises(InputError, match="invalid username"):
        create_account(store, "x'; DROP TABLE app_users; --", PASSWORD, "admin")
    set_password(store, "ana", "another long password")
    assert authenticate(store, "ana", PASSWORD) is None
    assert authenticate(store, "ana", "another long password") is not None
    with pytest.raises(InputError, match="last admin"):
        remove_account(store, "root")
    remove_account(store, "ana")
    assert [a.username for a in list_accounts(store)] == ["root"]
    hashes = store.query_df("SELECT password_hash FROM app_users")["password_hash"].tolist()
    assert all(h.startswith("scrypt$") for h in hashes)


@pytest.mark.integration
def test_setup_admin_cli(shoplens_home, capsys):
    assert main(["setup-admin", "--if-missing"]) == 0
    out = capsys.readouterr().out
    secret = shoplens_home / "secrets" / "admin_password"
    password = secret.read_text().strip()
    assert f"Password (shown once): {password}" in out
    assert "'admin'" in out and str(secret) in out
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(secret.parent).st_mode) == 0o700
    # a second run with --if-missing changes nothing; without it, it is an input error
    assert main(["setup-admin", "--if-missing"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert secret.read_text().strip() == password
    assert main(["setup-admin"]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.integration
def test_users_add_and_list_cli(shoplens_home, tmp_path, capsys):
    pw_file = tmp_path / "pw.txt"
    pw_file.write_text(PASSWORD + "\n")
    assert (
        main(
            [
                "users",
                "add",
                "ana",
                "--role",
                "merchant",
                "--shop",
                "shop_a",
                "--password-file",
                str(pw_file),
            ]
        )
        == 0
    )
    assert main(["users", "add", "lee", "--role", "annotator", "--generate"]) == 0
    out = capsys.readouterr().out
    assert "Added merchant 'ana' for shop 'shop_a'" in out
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ana" in listing and "shop_a" in listing and "lee" in listing
    assert "scrypt" not in listing and PASSWORD not in listing
    assert main(["users", "add", "bob", "--role", "merchant", "--password-file", str(pw_file)]) == 2
    assert "--shop" in capsys.readouterr().err
    assert (
        main(["users", "add", "bob", "--role", "admin", "--password-file", "../../no/such/passwd"])
        == 2
    )


LOGIN_SCRIPT = """
from app.auth import login_gate, logout_button
from db.store import Store
from common.settings import load_settings
viewer = login_gate(Store.from_settings(load_settings().store))
logout_button()
import streamlit as st
st.write(f"hello {viewer.username} {viewer.role}")
"""


@pytest.mark.integration
def test_login_gate(store):
    at = AppTest.from_string(LOGIN_SCRIPT, default_timeout=30).run()
    assert "setup-admin" in at.info[0].value  # no accounts yet
    create_account(store, "ana", PASSWORD, "merchant", "shop_a")
    at = AppTest.from_string(LOGIN_SCRIPT, default_timeout=30).run()
    assert not at.markdown or "hello" not in at.markdown[-1].value
    at.text_input[0].input("ana")
    at.text_input[1].input("wrong password!")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong username or password."
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["viewer"] == Viewer("ana", "merchant", ("shop_a",))
    assert any(m.value == "hello ana merchant" for m in at.markdown)


@pytest.mark.integration
def test_login_gate_uses_preset_viewer(store):
    at = AppTest.from_string(LOGIN_SCRIPT, default_timeout=30)
    at.session_state["viewer"] = Viewer("root", "admin", None)
    at.run()
    assert not at.exception
    assert any(m.value == "hello root admin" for m in at.markdown)


@pytest.mark.integration
def test_annotators_see_only_the_shops_an_admin_assigns(store, shoplens_home, tmp_path, capsys):
    from accounts.service import assign_shops

    lee = create_account(store, "lee", PASSWORD, "annotator")
    assert Viewer.from_account(lee).shop_ids == () and not Viewer.from_account(lee).can_see_shop(
        "a"
    )
    kim = create_account(store, "kim", PASSWORD, "annotator", "shop_a, shop_b,shop_a")
    assert kim.shop_id == "shop_a,shop_b"
    viewer = Viewer.from_account(authenticate(store, "kim", PASSWORD))
    assert viewer.visible_shops(["shop_a", "shop_b", "shop_c"]) == ["shop_a", "shop_b"]
    assert assign_shops(store, "lee", "shop_c").shop_ids == ("shop_c",)
    create_account(store, "root", PASSWORD, "admin")
    with pytest.raises(InputError, match="only annotators"):
        assign_shops(store, "root", "shop_c")
    password = tmp_path / "pw"
    password.write_text(PASSWORD)
    assert main(["users", "add", "max", "--role", "annotator", "--shop", "shop_a",
                 "--password-file", str(password)]) == 0  # fmt: skip
    assert main(["users", "assign", "max", "--shop", "shop_b"]) == 0
    assert "labels shops: shop_b" in capsys.readouterr().out
    with pytest.raises(ValueError, match="assigned"):
        Viewer("x", "annotator", None)
