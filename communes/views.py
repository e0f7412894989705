from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from communes.selectors import unit_search


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    units = unit_search(query=query)[:50] if query else []
    return render(request, "communes/unit_list.html", {"query": query, "units": units})
