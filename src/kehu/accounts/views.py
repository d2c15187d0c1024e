"""Personal settings: language and API tokens."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.accounts.forms import TokenForm
from kehu.accounts.models import ApiToken, User
from kehu.accounts.services import token_create, token_revoke, user_set_language
from kehu.platform.context import Context


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; kept on the user (and in a cookie for the login page)."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language and check_for_language(language):
        user_set_language(user=request.user, language=language)
        from django.conf import settings

        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    ctx = Context.from_request(request)
    new_token = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_token = token_create(
                ctx=ctx,
                user=cast("User", request.user),
                scopes=form.cleaned_data["scopes"],
                name=form.cleaned_data["name"],
                expires_days=form.cleaned_data["expires_days"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Token created. Copy it now: it will not be shown again."))
            form = TokenForm()
    tokens = ApiToken.objects.filter(user=cast("User", request.user))
    return render(request, "accounts/token_list.html", {"form": form, "tokens": tokens, "new_token": new_token})


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(ctx=Context.from_request(request), token=token)
    messages.success(request, _("Token revoked."))
    return redirect("token_list")
