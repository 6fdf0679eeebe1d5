import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from contacts.models import Membership

pytestmark = pytest.mark.django_db


def test_add_member_grants_and_then_updates_the_export_right(django_user_model, upstream, capsys):
    django_user_model.objects.create_user("maria")
    call_command("add_member", "maria", "org-tejo")
    assert Membership.objects.get(user__username="maria").can_export is False
    call_command("add_member", "maria", "org-tejo", "--can-export")
    membership = Membership.objects.get(user__username="maria")
    assert membership.can_export is True
    assert "Updated: maria in org-tejo (may export)" in capsys.readouterr().out
    call_command("add_member", "maria", "org-tejo")
    assert Membership.objects.get(user__username="maria").can_export is False


def test_add_member_explains_a_missing_user_or_organisation(django_user_model, upstream):
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("add_member", "ghost", "org-tejo")
    django_user_model.objects.create_user("maria")
    with pytest.raises(CommandError, match="No organisation 'org-nowhere'"):
        call_command("add_member", "maria", "org-nowhere")


def test_check_reports_an_organisation_without_a_key_and_never_prints_keys(settings, capsys):
    settings.CONTACTSHIP_ORGANISATIONS = {
        "good": {"name": "Good", "api_key": "sk-secret-value-123"},
        "bad": {"name": "Bad"},
    }
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    message = str(raised.value)
    assert "'bad' has no usable key" in message
    assert "sk-secret-value-123" not in message + capsys.readouterr().out


def test_check_refuses_a_page_size_above_the_apis_maximum(settings, upstream):
    settings.CONTACTSHIP_PAGE_SIZE = 250
    with pytest.raises(SystemCheckError, match="CONTACTSHIP_PAGE_SIZE must be between 1 and 100"):
        call_command("check")


def test_check_refuses_a_default_region_that_is_no_country(settings, capsys):
    settings.CONTACTSHIP_ORGANISATIONS = {
        "mx": {"name": "Ventas MX", "api_key": "k1", "default_region": "MX"},
        "none": {"name": "Sin región", "api_key": "k2", "default_region": ""},
        "bad": {"name": "Bad", "api_key": "k3", "default_region": "Mexico"},
    }
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    message = str(raised.value)
    assert "'bad' has default_region 'Mexico'" in message
    assert "'mx'" not in message and "'none'" not in message
