from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from communes.models import Designation, Programme
from partners.models import Agency, Enterprise


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The programme at a glance; field work and dashboards arrive with their issues."""
    context = {
        "programmes": Programme.objects.all(),
        "designated": Designation.objects.count(),
        "agencies": Agency.objects.count(),
        "enterprises": Enterprise.objects.count(),
    }
    return render(request, "home.html", context)
