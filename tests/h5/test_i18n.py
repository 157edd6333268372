"""Every word the payer pages show has its zh-CN translation (the default language), and
every file they read is in the installed package."""

from __future__ import annotations

from pathlib import Path

from tests.console.test_i18n import marked_in_python, not_packaged, shown_in_templates
from utilipay import h5
from utilipay.billers.schemas import Category
from utilipay.console.i18n import Locale, package_catalog
from utilipay.payments.schemas import PaymentStatus

H5 = Path(h5.__file__).parent


def test_every_shown_word_has_a_translation() -> None:
    shown = shown_in_templates(H5) | marked_in_python(H5) | set(Category) | set(PaymentStatus)
    missing = sorted(shown - package_catalog("utilipay.h5", Locale.ZH_CN).keys())
    assert not missing, f"no zh-CN for: {missing}"


def test_the_extraction_finds_what_it_should() -> None:
    assert "My accounts" in shown_in_templates(H5)
    assert "Nothing is due on this account." in marked_in_python(H5)


def test_every_file_the_pages_read_is_in_the_package_data() -> None:
    assert not_packaged(H5) == []
