"""One contact: its page and its vCard."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from contacts.access import organisation_member_required
from contacts.contact.identifiers import plausible_contact_id
from contacts.contact.vcard import contact_vcard
from contacts.search.contact_search import ContactSearch
from contacts.upstream.client import contactship_client


@organisation_member_required()
def contact_detail(request: HttpRequest, org_id: str, contact_id: str) -> HttpResponse:
    if not plausible_contact_id(contact_id):
        # `.`, `..`, `?x`, a URL...: no contact has such an id, and no call is made for it.
        raise Http404("Not a contact id.")
    # The search this contact was opened from, so "Back" returns to the same results.
    search = ContactSearch(request.GET, organisation=request.organisation, path=request.path)
    contact = contactship_client().contact_get(
        organisation=request.organisation, contact_id=contact_id, refresh=search.refresh
    )
    context = {
        "organisation": request.organisation,
        "access": request.access,
        "contact": contact,
        "back_query": search.back_query,
    }
    return render(request, "contacts/contact_detail.html", context)


@organisation_member_required()
def contact_vcard_download(request: HttpRequest, org_id: str, contact_id: str) -> HttpResponse:
    """ "Save to my contacts": the contact as a .vcf file (RFC 6350) the address book opens."""
    if not plausible_contact_id(contact_id):
        raise Http404("Not a contact id.")
    contact = contactship_client().contact_get(
        organisation=request.organisation, contact_id=contact_id
    )
    response = HttpResponse(contact_vcard(contact), content_type="text/vcard; charset=utf-8")
    filename = f"{contact.full_name or 'contact'}.vcf"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
